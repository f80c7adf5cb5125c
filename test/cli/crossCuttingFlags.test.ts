import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import type { RunResult } from '../../src/types.ts'
import { runMain } from './inProcess.ts'

/**
 * Every flag the command skeleton owns works on every workload command (issue 20): each test runs the
 * command against the built-in mock with a tiny, bounded load and checks the flag's effect in what the
 * command wrote or returned, not merely that it was accepted.
 */

const root = fileURLToPath(new URL('../..', import.meta.url))
const dataset = join(root, 'datasets/example.jsonl')
const tmp = mkdtempSync(join(tmpdir(), 'fluxperf-flags-'))
let external: MockServer
beforeAll(async () => {
  external = await startMockServer({ port: 0 })
})
afterAll(async () => {
  await external.close()
  rmSync(tmp, { recursive: true, force: true })
})

let n = 0
/** A fresh output directory. */
function outDir(): string {
  return join(tmp, `out-${n++}`)
}

interface Command {
  name: 'run' | 'multi-turn' | 'multi-round-qa'
  /** The command with a small bounded workload, writing to `dir`, against the built-in mock unless `endpoint` is given. */
  args(dir: string, endpoint?: string): string[]
  /** Requests the workload sends. */
  requests: number
}

const COMMANDS: Command[] = [
  {
    name: 'run',
    args: (dir, endpoint) => ['run', ...(endpoint ? ['--endpoint', endpoint] : ['--mock-server']), '--dataset', dataset, '--num-samples', '2', '--concurrency', '1', '--max-output-tokens', '4', '--seed', '1', '--no-progress', '--output-dir', dir],
    requests: 4,
  },
  {
    name: 'multi-turn',
    args: (dir, endpoint) => ['multi-turn', ...(endpoint ? ['--endpoint', endpoint] : ['--mock-server']), '-c', '2', '-t', '2', '--min-delay', '0', '--max-delay', '0', '-m', '4', '--seed', '1', '--no-progress', '--output-dir', dir],
    requests: 4,
  },
  {
    name: 'multi-round-qa',
    args: (dir, endpoint) => ['multi-round-qa', ...(endpoint ? ['--endpoint', endpoint] : ['--mock-server']), '--qps', '8', '--time', '0.5', '--num-users', '2', '--num-rounds', '2', '--answer-len', '4', '--seed', '1', '--no-progress', '--output-dir', dir, '--output', join(dir, 'summary.csv')],
    requests: 4,
  },
]

function runJson(dir: string): RunResult {
  return JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult
}

function allText(dir: string): string {
  let text = ''
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) text += readFileSync(join(entry.parentPath, entry.name), 'utf8')
  }
  return text
}

const total = (run: RunResult): number => run.rounds.reduce((s, r) => s + r.total, 0)

afterEach(() => vi.unstubAllEnvs())

describe.each(COMMANDS)('$name', (command) => {
  test('--endpoint: a server of the user\'s own', async () => {
    const dir = outDir()
    const r = await runMain(command.args(dir, `${external.url}/v1/chat/completions`))
    expect(r.code, r.stderr).toBe(0)
    expect(runJson(dir).endpoint).toBe(`${external.url}/v1/chat/completions`)
  })

  test('--slo-file: a missed threshold exits 99 with the SLO table', async () => {
    const dir = outDir()
    const slo = join(tmp, `slo-${command.name}.yaml`)
    writeFileSync(slo, 'slo:\n  ttft: ["p(50) < 0.001"]\n')
    const r = await runMain([...command.args(dir), '--slo-file', slo])
    expect(r.code, r.stderr).toBe(99)
    expect(r.stdout).toMatch(/SLO \(.*\):\n/)
    expect(r.stdout).toContain('SLO MISSED')
    expect(runJson(dir).slo).toEqual({ ttft: ['p(50) < 0.001'] })
  })

  test('--slo-file: per-request limits give every round goodput', async () => {
    const dir = outDir()
    const slo = join(tmp, `goodput-${command.name}.yaml`)
    writeFileSync(slo, 'slo:\n  ttft_ms: 60000\n')
    const r = await runMain([...command.args(dir), '--slo-file', slo])
    expect(r.code, r.stderr).toBe(0)
    for (const round of runJson(dir).rounds) expect(round.goodput?.requests).toBe(round.succeeded)
  })

  test('--prometheus-url auto: the mock\'s /metrics is scraped around the run', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--prometheus-url', 'auto'])
    expect(r.code, r.stderr).toBe(0)
    const prometheus = runJson(dir).prometheus ?? {}
    expect(Object.keys(prometheus).length).toBeGreaterThan(0)
    expect(Object.values(prometheus).every((p) => (p.scrapes ?? 0) > 0)).toBe(true)
    expect(r.stdout).toContain('Scrapes')
  })

  test('--recipe: the command runs the recipe\'s stages, each in its own directory', async () => {
    const dir = outDir()
    const recipe = join(tmp, `recipe-${command.name}.yaml`)
    writeFileSync(recipe, 'stages:\n  - name: first\n    warmup: 1\n  - name: second\n    warmup: 2\n')
    const r = await runMain([...command.args(dir), '--recipe', recipe])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(runJson(join(dir, 'first')).client.warmupRequests).toBe(1)
    expect(runJson(join(dir, 'second')).client.warmupRequests).toBe(2)
    expect(runJson(join(dir, 'second')).workload).toBe(runJson(join(dir, 'first')).workload)
    expect(existsSync(join(dir, 'recipe_summary.csv'))).toBe(true)
  })

  test('--retries: saved with the run\'s configuration', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--retries', '3'])
    expect(r.code, r.stderr).toBe(0)
    expect(runJson(dir).config['retries']).toBe(3)
  })

  test('--header with --secret-header: the value reaches no file and no output', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--header', 'X-Team-Token: tok-98765', '--secret-header', 'X-Team-Token', '--save-requests', '--debug'])
    expect(r.code, r.stderr).toBe(0)
    expect(allText(dir)).not.toContain('tok-98765')
    expect(r.stdout + r.stderr).not.toContain('tok-98765')
    expect(runJson(dir).config['headers']).toEqual({ 'x-team-token': '[redacted]' })
  })

  test('--no-keep-alive: every request on a connection of its own', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--no-keep-alive'])
    expect(r.code, r.stderr).toBe(0)
    const transport = runJson(dir).transport
    expect(transport?.keepAlive).toBe(false)
    // Each request opened its own (the model lookup before the run may reuse one).
    expect(transport?.connections?.opened ?? 0).toBeGreaterThanOrEqual(command.requests)
  })

  test('--save-requests: one JSON line per request', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--save-requests'])
    expect(r.code, r.stderr).toBe(0)
    const logs = readdirSync(dir).filter((f) => f.startsWith('requests_') && f.endsWith('.jsonl'))
    const lines = logs.flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n'))
    expect(lines).toHaveLength(total(runJson(dir)))
    expect(lines.every((l) => typeof JSON.parse(l).ttftMs === 'number')).toBe(true)
  })

  test('--debug: every request as built, in debug_round{r}_conc{c}.jsonl', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--debug'])
    expect(r.code, r.stderr).toBe(0)
    const logs = readdirSync(join(dir, 'debug'))
    expect(logs.every((f) => /^debug_round\d+_conc\d+\.jsonl$/.test(f))).toBe(true)
    const entries = logs.flatMap((f) => readFileSync(join(dir, 'debug', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { messages: unknown[] }))
    expect(entries).toHaveLength(total(runJson(dir)))
    expect(entries.every((e) => e.messages.length > 0)).toBe(true)
  })

  test('--warmup: requests before the clock, counted in no round', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--warmup', '3'])
    expect(r.code, r.stderr).toBe(0)
    const run = runJson(dir)
    expect(run.client.warmupRequests).toBe(3)
    expect(total(run)).toBe(command.requests)
  })

  test('--no-precision: nothing changed in the process, and the result says so', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--no-precision'])
    expect(r.code, r.stderr).toBe(0)
    expect(runJson(dir).client.precision).toEqual({ mode: 'off', active: false, changes: [], refused: [] })
    expect(r.stderr).not.toContain('precision')
  })

  test('the client warms up before the clock by default, never at the endpoint; --no-warm-client skips it', async () => {
    // The suite's vitest.config.ts turns the default off (FLUXPERF_NO_WARM_CLIENT=1); a user's shell has no such variable.
    vi.stubEnv('FLUXPERF_NO_WARM_CLIENT', undefined)
    const warmed = outDir()
    const own = await startMockServer({ port: 0 })
    try {
      const r = await runMain([...command.args(warmed, `${own.url}/v1/chat/completions`), '--no-precision'])
      expect(r.code, r.stderr).toBe(0)
      // The warm-up streams from a server of its own: the endpoint answered only the workload's requests.
      expect(own.stats().completed).toBe(total(runJson(warmed)))
    } finally {
      await own.close()
    }
    expect(runJson(warmed).client.warmedUp).toBe(true)
    const cold = outDir()
    const skipped = await runMain([...command.args(cold), '--no-precision', '--no-warm-client'])
    expect(skipped.code, skipped.stderr).toBe(0)
    expect(runJson(cold).client.warmedUp).toBe(false)
    expect(runJson(cold).config).not.toHaveProperty('warmClient')
  })

  test('--reset-cache-url: POSTed before the cold round, its failure recorded and reported', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--reset-cache-url', 'http://127.0.0.1:1/reset_prefix_cache'])
    expect(r.stderr).toContain('cache reset at http://127.0.0.1:1/reset_prefix_cache failed')
    expect(runJson(dir).rounds[0]?.cacheReset).toMatchObject({ attempted: true, ok: false, url: 'http://127.0.0.1:1/reset_prefix_cache' })
  })

  test('--max-error-rate: failed requests within the share pass; over it, exit 1', async () => {
    // Every request fails: the endpoint has no server.
    const dir = outDir()
    const failing = await runMain([...command.args(dir, 'http://127.0.0.1:1/v1/chat/completions'), '--model', 'm', '--max-error-rate', '0.5'])
    expect(failing.code).toBe(1)
    expect(failing.stdout).toContain('FAILED')
    const passing = await runMain([...command.args(outDir()), '--max-error-rate', '0.5'])
    expect(passing.code, passing.stderr).toBe(0)
  })

  test('--model, --ignore-eos, --temperature: sent with every request and saved', async () => {
    const dir = outDir()
    const r = await runMain([...command.args(dir), '--model', 'my-model', '--ignore-eos', '--temperature', '0.5'])
    expect(r.code, r.stderr).toBe(0)
    const run = runJson(dir)
    expect(run.model).toBe('my-model')
    expect(run.config).toMatchObject({ ignoreEos: true, temperature: 0.5 })
  })
})

describe('--endpoint takes a base URL too (a server root or a /v1 path): the chat path is appended, and said', () => {
  test.each([
    ['http://127.0.0.1:8000/v1/chat/completions', 'http://127.0.0.1:8000/v1/chat/completions', false],
    ['http://127.0.0.1:8000/v1/completions', 'http://127.0.0.1:8000/v1/completions', false],
    ['http://127.0.0.1:8000/v1', 'http://127.0.0.1:8000/v1/chat/completions', true],
    ['http://127.0.0.1:8000/v1/', 'http://127.0.0.1:8000/v1/chat/completions', true],
    ['http://127.0.0.1:8000', 'http://127.0.0.1:8000/v1/chat/completions', true],
  ])('%s → %s', async (given, expected, noticed) => {
    const { apiEndpointUrl } = await import('../../src/client/index.ts')
    const notices: string[] = []
    expect(apiEndpointUrl(given, (m) => notices.push(m))).toBe(expected)
    expect(notices.length > 0).toBe(noticed)
  })

  test.each(COMMANDS)('$name against a base URL: every request answered', async (command) => {
    const dir = outDir()
    // The shared server's cache holds earlier tests' prompts: emptied first, so the cold round is cold.
    const r = await runMain([...command.args(dir, `${external.url}/v1`), '--reset-cache-url', `${external.url}/reset_prefix_cache`])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stderr).toContain('is a base URL; requests go to')
    expect(runJson(dir).endpoint).toBe(`${external.url}/v1/chat/completions`)
  })
})
