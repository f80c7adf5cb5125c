// Golden tests of `fluxperf multi-round-qa` (seed 004, multi-round-qa.py): the console summaries, the
// --output CSV, realtime_stats_qps_*.txt, performance_summary_qps_*.txt, final_performance_summary_qps_*.txt
// and metrics_summary.csv, against the built-in mock with a fixed --seed. See test/golden/README.md.
//
// The schedule is chosen so that its shape does not depend on the machine's speed: 2 QPS for 3 s is six
// sends 500 ms apart (an answer of 8 tokens from the mock takes ~40 ms), so requests never overlap and
// finish in send order; each of the 2 users waits 1 s between its questions (none late); the periodic
// summary fires at 1.75 s (once: the next tick, 3.5 s, comes after the schedule's end at 3 s and the
// last answer). What that one periodic summary has counted by then is timing, and is masked (mask.ts).
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runMain } from '../cli/inProcess.ts'
import type { InProcessResult } from '../cli/inProcess.ts'
import { mask } from './mask.ts'
import { expectGolden, goldenTmpDir, listFiles, readOutput, runJsonFacts, staleGoldenFiles } from './golden.ts'

const tmp = goldenTmpDir()
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('fluxperf multi-round-qa --mock-server: --qps 2 --time 3, 2 users of 2 rounds, --log-interval 1.75', () => {
  const dir = join(tmp, 'qa')
  let r: InProcessResult
  beforeAll(async () => {
    r = await runMain(['multi-round-qa', '--mock-server', '--qps', '2', '--time', '3', '--num-users', '2', '--num-rounds', '2', '--answer-len', '8',
      '--shared-system-prompt', '50', '--user-history-prompt', '20', '--model', 'llama3', '--seed', '1', '--no-progress', '--log-interval', '1.75',
      '--output-dir', dir, '--output', join(dir, 'summary.csv')])
  })
  afterAll(() => expect(staleGoldenFiles('multi-round-qa')).toEqual([]))

  test('exit 0, nothing on stderr', () => {
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  test('stdout: one periodic summary, the final summary, the verdict', () => {
    expectGolden('multi-round-qa/stdout.txt', mask('stdout', r.stdout))
  })

  test('the files written (names and count)', () => {
    expectGolden('multi-round-qa/files.txt', listFiles(dir).join('\n') + '\n')
  })

  test.each(['summary.csv', 'realtime_stats_qps_2.00.txt', 'performance_summary_qps_2.00.txt', 'final_performance_summary_qps_2.00.txt', 'metrics_summary.csv'])('%s', (file) => {
    expectGolden(`multi-round-qa/${file}`, mask(file, readOutput(join(dir, file))))
  })

  test('run.json: a few facts only (RUN.JSON SCHEMA MAY CHANGE)', () => {
    expectGolden('multi-round-qa/run.json.facts.json', runJsonFacts(readOutput(join(dir, 'run.json'))))
  })
})
