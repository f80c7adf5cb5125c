import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { hasStackTrace, runCli } from '../helpers/cli.ts'
import { sseServer } from '../helpers/sseServer.ts'
import { requestEntry } from '../../src/report/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const out = (name: string): string => join(dir, name)
// A fast mock is not needed: the example dataset at 8 samples finishes in a few seconds.
const mockRun = ['run', '--mock-server', '--dataset', 'datasets/example.jsonl', '--no-progress']

describe('fluxperf run', () => {
  test('the README example: tables, four columns, four JSON files, round 2 cached more and its mean TTFT below round 1', async () => {
    const r = await runCli([...mockRun, '--concurrency', '2', '4', '--num-samples', '8', '--seed', '7', '--output-dir', out('demo')])
    expect(r.stderr).not.toMatch(/error/i)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Concurrency: 2 | Round 1 Performance Metrics')
    expect(r.stdout).toContain('Concurrency: 4 | Round 2 Performance Metrics')
    expect(r.stdout).toMatch(/│ TTFT \(ms\)/)
    expect(r.stdout).toContain('Cache speedup (round 1 / round 2)')
    expect(r.stdout).toMatch(/^PASSED/m)
    const files = readdirSync(out('demo'))
    for (const c of [2, 4]) for (const round of [1, 2]) expect(files).toContain(`concurrency_${c}_round_${round}.json`)
    const header = readFileSync(join(out('demo'), 'metrics_summary.csv'), 'utf8').split('\n')[0]
    expect(header).toBe('Metric/Round,Concurrency2-Round1,Concurrency2-Round2,Concurrency4-Round1,Concurrency4-Round2')
    const run = JSON.parse(readFileSync(join(out('demo'), 'run.json'), 'utf8'))
    for (const c of [2, 4]) {
      const [r1, r2] = [1, 2].map((n) => run.rounds.find((x: { concurrency: number; round: number }) => x.concurrency === c && x.round === n))
      // The prompts the cache saves prefill on are the long ones, above the median: p50 (short prompts,
      // cached or not) differed by under 1 ms at concurrency 4 and lost to noise on a loaded machine.
      expect(r2.cache.cachedShare).toBeGreaterThan(r1.cache.cachedShare)
      expect(r2.metrics.ttft.avg).toBeLessThan(r1.metrics.ttft.avg)
    }
    expect(run.seed).toBe(7)
    const round = JSON.parse(readFileSync(join(out('demo'), 'concurrency_2_round_1.json'), 'utf8'))
    expect(round.configuration).toMatchObject({ concurrency: 2, round: 1, seed: 7 })
    expect(round.requests.length).toBe(round.summary.total_requests)
    expect(round.requests[0]).toHaveProperty('ttft')
  })

  test('--save-requests: a round\'s request log is whole on disk before the next round sends its first request', async () => {
    // Written later, a round's last lines were serialised in the next round's first 100 ms, as its requests streamed.
    const saved = out('round-log')
    const linesOnDisk = (): number => {
      const file = readdirSync(saved).find((name) => name.startsWith('requests_round1_'))
      return file === undefined ? -1 : readFileSync(join(saved, file), 'utf8').split('\n').filter(Boolean).length
    }
    const seen: number[] = []
    // Called as each request arrives (it drops none): what round 1's log held at that moment.
    const server = await sseServer({ drop: () => (seen.push(linesOnDisk()), false) })
    try {
      const r = await runCli(['run', '--endpoint', server.url, '--model', 'm', '--allow-unverified-cold-round', '--dataset', 'datasets/formats/text.jsonl', '--concurrency', '1', '--save-requests', '--no-progress', '--output-dir', saved],
        { env: { HTTP_PROXY: '', http_proxy: '', NO_PROXY: '', no_proxy: '' } })
      expect(r.code).toBe(0)
    } finally {
      await server.close()
    }
    // The last six requests are the two rounds' of the dataset's three prompts, one at a time: round 1's log was
    // empty at its first request (and may take lines within 0.1 s of each end, however slow the machine), and
    // round 2's first request found all three.
    const rounds = seen.slice(-6)
    expect(rounds[0]).toBe(0)
    expect(rounds[3]).toBe(3)
    expect(linesOnDisk()).toBe(3)
  })

  test('a dataset broken on line 3 exits 2 naming line 3, without a stack trace', async () => {
    const r = await runCli([...mockRun, '--dataset', 'fixtures/bad/invalid-json-line3.jsonl', '--output-dir', out('bad')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('invalid-json-line3.jsonl:3')
    expect(hasStackTrace(r.stderr + r.stdout)).toBe(false)
  })

  test('a closed port: exit 1 naming the URL, JSON still written with every request failed and its reason', async () => {
    const url = 'http://127.0.0.1:9/v1/chat/completions'
    const r = await runCli(['run', '--endpoint', url, '--model', 'm', '--dataset', 'datasets/formats/text.jsonl', '--no-progress', '--output-dir', out('refused')])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(url)
    const round = JSON.parse(readFileSync(join(out('refused'), 'concurrency_1_round_1.json'), 'utf8'))
    expect(round.requests.length).toBeGreaterThan(0)
    for (const req of round.requests) {
      expect(req.success).toBe(false)
      expect(req.error.kind).toBe('connection_refused')
      expect(req.error.message).toContain(url)
    }
  })

  test.each([
    [['--concurrency', '0'], '--concurrency'],
    [['--num-samples', 'ten'], '--num-samples'],
    [['--endpoint', 'http://x:1/v1/chat/completions'], '--mock-server'],
    [['--timeout', '-1'], '--timeout'],
    [['--tokenizer', 'gpt9'], '--tokenizer'],
  ])('bad flags %j exit 2 naming %s', async (args, flag) => {
    const r = await runCli([...mockRun, ...args, '--output-dir', out('flags')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(flag)
    expect(hasStackTrace(r.stderr)).toBe(false)
  })

  test('an endpoint that is not a URL exits 2', async () => {
    const r = await runCli(['run', '--endpoint', 'localhost-8000', '--dataset', 'datasets/example.jsonl', '--output-dir', out('x')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--endpoint: "localhost-8000" is not a URL')
  })

  test('an output directory that cannot be written exits 2 naming it', async () => {
    const file = out('a-file')
    writeFileSync(file, '')
    const r = await runCli([...mockRun, '--output-dir', join(file, 'sub')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--output-dir')
  })

  test('an SLO that cannot be met exits 99 with the term table; one that is met exits 0', async () => {
    const strict = out('strict.yaml')
    writeFileSync(strict, 'slo:\n  ttft: ["p(90) < 0.001"]\n')
    const missed = await runCli([...mockRun, '--num-samples', '3', '--seed', '4', '--max-output-tokens', '16', '--slo-file', strict, '--output-dir', out('slo1')])
    expect(missed.code).toBe(99)
    expect(missed.stdout).toMatch(/ttft\s+p\(90\)[\s\S]*FAIL/)
    expect(missed.stdout).toContain('SLO MISSED')
    const loose = out('loose.yaml')
    writeFileSync(loose, 'slo:\n  ttft_ms: 60000\n  latency_ms: 60000\n')
    const met = await runCli([...mockRun, '--num-samples', '3', '--seed', '4', '--max-output-tokens', '16', '--slo-file', loose, '--output-dir', out('slo2')])
    expect(met.code).toBe(0)
    expect(met.stdout).toContain('Requests Meeting SLO')
  })

  test('--save-requests: each round file\'s entries are the request log\'s records, in the same order', async () => {
    // The two files take their texts from one formatting of each record (RequestTexts): a record paired with another's text shows here.
    const r = await runCli([...mockRun, '--concurrency', '3', '--num-samples', '8', '--seed', '4', '--max-output-tokens', '8', '--save-requests', '--output-dir', out('paired')])
    expect(r.code).toBe(0)
    const files = readdirSync(out('paired'))
    for (const round of [1, 2]) {
      const log = files.find((f) => f.startsWith(`requests_round${round}_conc3_`)) as string
      const records = readFileSync(join(out('paired'), log), 'utf8').trim().split('\n').map((line) => JSON.parse(line))
      const file = JSON.parse(readFileSync(join(out('paired'), `concurrency_3_round_${round}.json`), 'utf8'))
      const entries = file.requests
      expect(records.length).toBe(file.summary.total_requests)
      expect(new Set(records.map((x: { id: string }) => x.id)).size).toBeGreaterThan(1)
      expect(entries).toEqual(records.map((x) => JSON.parse(JSON.stringify(requestEntry(x)))))
    }
  })

  test('--save-requests and --debug write parseable JSONL; the API key appears nowhere', async () => {
    const key = 'sk-planted-secret-4242'
    // Seeded: four rows drawn at random can share a story's prefix, and a cold round found cached fails the run.
    const r = await runCli([...mockRun, '--num-samples', '4', '--seed', '4', '--max-output-tokens', '16', '--save-requests', '--debug', '--api-key', key, '--header', `X-Api-Token: ${key}`, '--secret-header', 'X-Api-Token', '--output-dir', out('saved')])
    expect(r.code).toBe(0)
    const files = readdirSync(out('saved'), { recursive: true }).map(String)
    const jsonl = files.filter((f) => f.endsWith('.jsonl'))
    expect(jsonl.some((f) => /^requests_round1_conc1_\d{8}_\d{6}\.jsonl$/.test(f))).toBe(true)
    expect(jsonl.some((f) => f.startsWith('debug'))).toBe(true)
    for (const f of jsonl) {
      const lines = readFileSync(join(out('saved'), f), 'utf8').trim().split('\n')
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow()
    }
    const debug = readFileSync(join(out('saved'), jsonl.find((f) => f.startsWith('debug')) as string), 'utf8').split('\n')[0] as string
    expect(JSON.parse(debug)).toHaveProperty('context_tokens')
    for (const f of files.filter((f) => !f.endsWith('/') && f.includes('.'))) expect(readFileSync(join(out('saved'), f), 'utf8')).not.toContain(key)
    expect(r.stdout + r.stderr).not.toContain(key)
  })
})
