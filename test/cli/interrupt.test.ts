import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import { runCli } from '../helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-interrupt-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// A slow mock: every request streams for about a second, so the run is surely mid-way when signalled.
let mock: MockServer
beforeEach(async () => {
  mock = await startMockServer({ port: 0, itlMs: 20, itlPerSeqMs: 0, jitter: 0 })
})
afterEach(() => mock.close())

function runSlow(outputDir: string, until: () => boolean, signal: NodeJS.Signals, tokens = 50) {
  let sent = false
  let pid = 0
  const child = runCli(['run', '--endpoint', `${mock.url}/v1/chat/completions`, '--dataset', 'datasets/example.jsonl', '--concurrency', '2',
    '--max-output-tokens', String(tokens), '--save-requests', '--no-progress', '--output-dir', outputDir], { onSpawn: (c) => (pid = c.pid ?? 0) })
  // Signal once the run has made the progress we want (polling progress, not the clock).
  const poll = setInterval(() => {
    if (!sent && pid && until()) {
      sent = true
      process.kill(pid, signal)
    }
  }, 20)
  return child.finally(() => clearInterval(poll))
}

/** Newline-terminated lines the run has written to its request log so far (the client's own progress). */
function savedLines(outputDir: string): number {
  if (!existsSync(outputDir)) return 0
  const log = readdirSync(outputDir).find((f) => f.startsWith('requests_round1_conc2_'))
  return log ? readFileSync(join(outputDir, log), 'utf8').split('\n').length - 1 : 0
}

describe('interruption', () => {
  test('SIGINT: no new requests, in-flight ones finish, every report is written, marked interrupted, exit 130', async () => {
    const out = join(dir, 'sigint')
    const r = await runSlow(out, () => mock.stats().completed >= 3, 'SIGINT')
    expect(r.code).toBe(130)
    expect(r.stdout).toContain('INTERRUPTED')
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))
    expect(run.interrupted).toBe(true)
    const round = JSON.parse(readFileSync(join(out, 'concurrency_2_round_1.json'), 'utf8'))
    expect(round.requests.length).toBeGreaterThanOrEqual(3)
    expect(round.requests.length).toBeLessThan(20)
    // In-flight requests had their grace and completed.
    expect(round.requests.filter((q: { success: boolean }) => !q.success)).toEqual([])
    expect(readdirSync(out).some((f) => f.startsWith('requests_round1_conc2_'))).toBe(true)
  })

  test('SIGKILL: every request line before the last newline is complete and parseable', async () => {
    const out = join(dir, 'sigkill')
    const r = await runSlow(out, () => savedLines(out) >= 3, 'SIGKILL')
    expect(r.signal).toBe('SIGKILL')
    const log = readdirSync(out).find((f) => f.startsWith('requests_round1_conc2_')) as string
    const text = readFileSync(join(out, log), 'utf8')
    const complete = text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean)
    expect(complete.length).toBeGreaterThanOrEqual(3)
    for (const line of complete) expect(JSON.parse(line)).toHaveProperty('ttftMs')
  })
})

describe('request logs', () => {
  test('--save-requests opens a round\'s request log as the round starts, before its first request ends', async () => {
    // Opened at the first request's end instead, the file (and its timestamp) took the loop's time just as the
    // other streams' last chunks arrived, and stamped them late (docs/performance.md).
    const out = join(dir, 'opened')
    let seen: { completed: number; text: string } | undefined
    const r = await runSlow(out, () => {
      const log = existsSync(out) ? readdirSync(out).find((f) => f.startsWith('requests_round1_conc2_')) : undefined
      if (log) seen ??= { completed: mock.stats().completed, text: readFileSync(join(out, log), 'utf8') }
      return seen !== undefined
    }, 'SIGINT', 150)
    expect(r.code).toBe(130)
    // Each request streams for about three seconds (150 tokens, 20 ms apart), far longer than a poll's 20 ms even on
    // a loaded machine: none had ended when the log appeared, and it held nothing yet.
    expect(seen).toEqual({ completed: 0, text: '' })
    // Interrupted, the requests in flight finished and were written to it.
    expect(savedLines(out)).toBeGreaterThanOrEqual(2)
  })
})
