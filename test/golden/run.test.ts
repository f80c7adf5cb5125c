// Golden tests of `fluxperf run` (seed 001/003, the dual-round benchmarker): the console blocks,
// metrics_summary.csv, every concurrency_{c}_round_{r}.json, the --save-requests and --debug logs, and
// the SLO table, against the built-in mock with a fixed --seed. See test/golden/README.md.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runMain } from '../cli/inProcess.ts'
import type { InProcessResult } from '../cli/inProcess.ts'
import { mask } from './mask.ts'
import { expectGolden, goldenName, goldenTmpDir, listFiles, maskedName, readOutput, runJsonFacts, staleGoldenFiles } from './golden.ts'

const tmp = goldenTmpDir()
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/**
 * `summary.round` of a concurrency_{c}_round_{r}.json is fluxperf's whole round object, the same one as
 * run.json's `rounds[]`: RUN.JSON SCHEMA MAY CHANGE, so it is pinned with run.json's facts
 * (runJsonFacts), not here. Everything else in the file (the seed's configuration, flat summary and
 * request entries) is pinned, with `round` kept as a key in its place.
 */
function withoutRunJsonRound(raw: string): string {
  const doc = JSON.parse(raw) as { summary: Record<string, unknown> }
  expect(doc.summary).toHaveProperty('round')
  doc.summary['round'] = '<run.json round: schema may change, see run.json.facts.json>'
  return JSON.stringify(doc, null, 2) + '\n'
}

/** JSONL lines in request-index order: at concurrency > 1 they are written in completion order, which is timing. */
function byIndex(raw: string): string {
  const lines = raw.split('\n').filter((l) => l !== '')
  const index = (line: string): number => (JSON.parse(line) as { index: number }).index
  return lines.sort((a, b) => index(a) - index(b)).join('\n') + '\n'
}

describe('fluxperf run: dual round, concurrency 1 2, 3 samples of datasets/example.jsonl, --save-requests', () => {
  const dir = join(tmp, 'run')
  let r: InProcessResult
  beforeAll(async () => {
    r = await runMain(['run', '--mock-server', '--dataset', 'datasets/example.jsonl', '--concurrency', '1', '2', '--num-samples', '3',
      '--max-output-tokens', '8', '--seed', '7', '--no-progress', '--save-requests', '--output-dir', dir])
  })
  afterAll(() => expect(staleGoldenFiles('run')).toEqual([]))

  test('exit 0, nothing on stderr', () => {
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  test('stdout: the mock line, four round blocks, the cache speedup, the verdict', () => {
    expectGolden('run/stdout.txt', mask('stdout', r.stdout))
  })

  test('the files written (names and count)', () => {
    expectGolden('run/files.txt', listFiles(dir).map(maskedName).join('\n') + '\n')
  })

  test('metrics_summary.csv', () => {
    expectGolden('run/metrics_summary.csv', mask('metrics_summary.csv', readOutput(join(dir, 'metrics_summary.csv'))))
  })

  test.each(['concurrency_1_round_1.json', 'concurrency_1_round_2.json', 'concurrency_2_round_1.json', 'concurrency_2_round_2.json'])('%s (without summary.round)', (file) => {
    expectGolden(`run/${file}`, mask(file, withoutRunJsonRound(readOutput(join(dir, file)))))
  })

  test('requests_round{r}_conc{c}_{stamp}.jsonl (--save-requests), lines in index order', () => {
    const logs = listFiles(dir).filter((f) => f.startsWith('requests_round'))
    expect(logs).toHaveLength(4)
    for (const file of logs) expectGolden(`run/${goldenName(file)}`, mask(file, byIndex(readOutput(join(dir, file)))))
  })

  test('run.json: a few facts only (RUN.JSON SCHEMA MAY CHANGE)', () => {
    expectGolden('run/run.json.facts.json', runJsonFacts(readOutput(join(dir, 'run.json'))))
  })
})

describe('fluxperf run: --slo-file test/golden/slo.yaml and --debug, concurrency 2, 4 samples of examples/example_dataset.json', () => {
  const dir = join(tmp, 'run-slo')
  let r: InProcessResult
  beforeAll(async () => {
    r = await runMain(['run', '--mock-server', '--dataset', 'examples/example_dataset.json', '--concurrency', '2', '--num-samples', '4',
      '--max-output-tokens', '8', '--seed', '11', '--no-progress', '--slo-file', 'test/golden/slo.yaml', '--debug', '--output-dir', dir])
    // `run` never closes its --debug writers (src/cli/run.ts debugLogger): their last lines are written by
    // JsonlWriter's 100 ms flush timer, or at process exit. In process, wait for that timer: one set now
    // for 150 ms fires after it (Node runs due timers in order), however loaded the machine is.
    await new Promise((resolve) => setTimeout(resolve, 150))
  })
  afterAll(() => expect(staleGoldenFiles('run-slo')).toEqual([]))

  test('exit 0, nothing on stderr', () => {
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  test('stdout: round blocks with goodput, the SLO table, the verdict', () => {
    expectGolden('run-slo/stdout.txt', mask('stdout', r.stdout))
  })

  test('the files written (names and count)', () => {
    expectGolden('run-slo/files.txt', listFiles(dir).map(maskedName).join('\n') + '\n')
  })

  test('metrics_summary.csv with the Goodput (SLO) block', () => {
    expectGolden('run-slo/metrics_summary.csv', mask('metrics_summary.csv', readOutput(join(dir, 'metrics_summary.csv'))))
  })

  test.each(['concurrency_2_round_1.json', 'concurrency_2_round_2.json'])('%s (without summary.round)', (file) => {
    expectGolden(`run-slo/${file}`, mask(file, withoutRunJsonRound(readOutput(join(dir, file)))))
  })

  test('debug/debug_round{r}_conc{c}.jsonl (--debug)', () => {
    const logs = listFiles(dir).filter((f) => f.startsWith('debug/'))
    expect(logs).toHaveLength(2)
    for (const file of logs) expectGolden(`run-slo/${file}`, mask(file, readOutput(join(dir, file))))
  })

  test('run.json: a few facts only (RUN.JSON SCHEMA MAY CHANGE)', () => {
    expectGolden('run-slo/run.json.facts.json', runJsonFacts(readOutput(join(dir, 'run.json'))))
  })
})
