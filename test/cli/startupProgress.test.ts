// No silent start: a workload command says what it does before the first request (loading the tokenizer,
// warm-ups), and without a terminal (CI logs) a progress line comes as each round starts, not only when
// it ends. `--no-progress` silences all of it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { createProgress } from '../../src/cli/progress.ts'
import type { Progress } from '../../src/cli/progress.ts'
import { announceStart } from '../../src/cli/startup.ts'
import type { RequestRecord } from '../../src/types.ts'
import { runCli } from '../helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-startup-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A stderr that is not a terminal, as in CI. */
function plainStream(): NodeJS.WriteStream & { text: string } {
  const stream = { isTTY: false, text: '', write(s: string) { stream.text += s; return true } }
  return stream as unknown as NodeJS.WriteStream & { text: string }
}

describe('progress without a terminal', () => {
  test('a line as a round starts, then at its end; status lines as notices', () => {
    const stream = plainStream()
    const progress = createProgress(stream, true)
    progress.status('loading tokenizer (o200k_base)…')
    progress.start('Concurrency2-Round1', 2)
    expect(stream.text).toBe('fluxperf: loading tokenizer (o200k_base)…\n[fluxperf] Concurrency2-Round1: 0/2 requests, 0 failed\n')
    progress.tick({ ok: true } as RequestRecord)
    progress.tick({ ok: false } as RequestRecord)
    expect(stream.text.split('\n').at(-2)).toBe('[fluxperf] Concurrency2-Round1: 2/2 requests, 1 failed')
  })

  test('--no-progress: nothing at all', () => {
    const stream = plainStream()
    const progress = createProgress(stream, false)
    progress.status('loading tokenizer (o200k_base)…')
    progress.start('Concurrency2-Round1', 2)
    progress.tick({ ok: true } as RequestRecord)
    expect(stream.text).toBe('')
  })
})

describe('announceStart', () => {
  function said(flags: Parameters<typeof announceStart>[0]): string[] {
    const lines: string[] = []
    const progress: Progress = { status: (m) => lines.push(m), start() {}, tick() {}, stop() {} }
    announceStart(flags, progress)
    return lines
  }

  test('the tokenizer, the client warm-up (precision\'s when on), and the --warmup requests', () => {
    expect(said({ tokenizer: 'cl100k_base', precision: 'off', warmClient: false, warmup: 0 })).toEqual(['loading tokenizer (cl100k_base)…'])
    expect(said({ tokenizer: 'cl100k_base', precision: 'off', warmClient: true, warmup: 0 })).toEqual([
      'loading tokenizer (cl100k_base)…',
      'the client warms up before the clock starts (about 0.5 s over loopback; --no-warm-client skips it)…',
    ])
    expect(said({ tokenizer: 'o200k_base', precision: 'on', warmClient: true, warmup: 3 })).toEqual([
      'loading tokenizer (o200k_base)…',
      'precision on: the client warms up before the clock starts (about 1 s; --no-precision skips it)…',
      '3 warm-up requests before the clock starts…',
    ])
    expect(said({ tokenizer: 'o200k_base', precision: false, warmClient: false, warmup: 1 })).toEqual(['loading tokenizer (o200k_base)…', '1 warm-up request before the clock starts…'])
  })
})

describe('fluxperf run, stderr not a terminal', () => {
  test('says it loads the tokenizer first, and prints a line as round 1 starts, before the one at its end', async () => {
    const r = await runCli(['run', '--mock-server', '--dataset', 'datasets/example.jsonl', '--concurrency', '2', '--num-samples', '2', '--max-output-tokens', '8',
      '--seed', '1', '--precision', 'off', '--output-dir', join(dir, 'run')])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stderr.split('\n')
    expect(lines[0]).toBe('fluxperf: loading tokenizer (o200k_base)…')
    const started = lines.findIndex((l) => /^\[fluxperf\] Concurrency2-Round1: 0\/\d+ requests, 0 failed$/.test(l))
    const ended = lines.findIndex((l) => /^\[fluxperf\] Concurrency2-Round1: (\d+)\/\1 requests, 0 failed$/.test(l))
    expect(started).toBeGreaterThan(0)
    expect(ended).toBeGreaterThan(started)
  })
})
