// Golden tests of `fluxperf multi-turn` (seed 002, multi-turn-benchmark.py): the BENCHMARK SUMMARY and
// every file it writes, against the built-in mock with a fixed --seed. One worker (-p 1) and no think
// time: with more workers requests.csv and the JSONL are in completion order, which is timing.
// See test/golden/README.md.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runMain } from '../cli/inProcess.ts'
import type { InProcessResult } from '../cli/inProcess.ts'
import { mask } from './mask.ts'
import { expectGolden, goldenName, goldenTmpDir, listFiles, maskedName, readOutput, runJsonFacts, staleGoldenFiles } from './golden.ts'

const tmp = goldenTmpDir()
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('fluxperf multi-turn --mock-server: 3 conversations of 2 turns, one worker, --save-requests', () => {
  const dir = join(tmp, 'multi-turn')
  let r: InProcessResult
  beforeAll(async () => {
    r = await runMain(['multi-turn', '--mock-server', '-c', '3', '-t', '2', '-m', '8', '-p', '1', '--min-delay', '0', '--max-delay', '0',
      '--seed', '6', '--no-progress', '--save-requests', '--output-dir', dir])
  })
  afterAll(() => expect(staleGoldenFiles('multi-turn')).toEqual([]))

  test('exit 0, nothing on stderr', () => {
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  test('stdout: BENCHMARK SUMMARY, TTFT by turn, first vs later turns, document types, the verdict', () => {
    expectGolden('multi-turn/stdout.txt', mask('stdout', r.stdout))
  })

  test('the files written (names and count)', () => {
    expectGolden('multi-turn/files.txt', listFiles(dir).map(maskedName).join('\n') + '\n')
  })

  test.each(['metrics_summary.csv', 'ttft_by_turn.csv', 'document_types.csv', 'requests.csv'])('%s', (file) => {
    expectGolden(`multi-turn/${file}`, mask(file, readOutput(join(dir, file))))
  })

  test('requests_multi_turn_{stamp}.jsonl (--save-requests)', () => {
    const logs = listFiles(dir).filter((f) => f.startsWith('requests_multi_turn_'))
    expect(logs).toHaveLength(1)
    for (const file of logs) expectGolden(`multi-turn/${goldenName(file)}`, mask(file, readOutput(join(dir, file))))
  })

  test('run.json: a few facts only (RUN.JSON SCHEMA MAY CHANGE)', () => {
    expectGolden('multi-turn/run.json.facts.json', runJsonFacts(readOutput(join(dir, 'run.json'))))
  })
})
