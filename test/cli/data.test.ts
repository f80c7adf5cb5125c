import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { loadDataset } from '../../src/data/index.ts'
import { hasStackTrace } from '../helpers/cli.ts'
import { runMain } from './inProcess.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-data-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const out = (name: string): string => join(dir, name)

describe('fluxperf data sharegpt / longbench', () => {
  test('sharegpt converts the shipped sample; the output loads', async () => {
    const r = await runMain(['data', 'sharegpt', 'datasets/sharegpt-sample.json', out('sg.jsonl'), '--min-turns', '2'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Read 7 rows from datasets/sharegpt-sample.json')
    expect(r.stdout).toContain('Skipped: 2 (fewer than 2 human turns), 1 (no human turn)')
    expect(r.stdout).toContain(`Wrote 4 sessions to ${out('sg.jsonl')}`)
    const sessions = await loadDataset(out('sg.jsonl'))
    expect(sessions.map((s) => s.userMessages.length)).toEqual([3, 3, 4, 4])
  })

  test('longbench converts the shipped sample, and `run` benchmarks the output', async () => {
    const r = await runMain(['data', 'longbench', '--input', 'datasets/longbench-sample.jsonl', '--output', out('lb.jsonl'), '--num-samples', '3', '--seed', '9', '--format', 'messages'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Distinct rows: 5 (1 duplicates removed)')
    expect(r.stdout).toContain(`Wrote 3 prompts to ${out('lb.jsonl')}`)
    expect(await loadDataset(out('lb.jsonl'))).toHaveLength(3)
    const run = await runMain(['run', '--mock-server', '--dataset', out('lb.jsonl'), '--max-output-tokens', '4', '--no-progress', '--output-dir', out('lb-run')])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^PASSED: 6\/6 requests succeeded/m)
  })

  test('usage errors exit 2 with one line and no stack', async () => {
    const both = await runMain(['data', 'longbench', '--input', 'datasets/longbench-sample.jsonl', '--dataset', 'narrativeqa', '--output', out('x.jsonl')])
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('give exactly one of --input FILE, --input-dir DIR or --dataset NAME')
    const tooMany = await runMain(['data', 'longbench', '--input', 'datasets/longbench-sample.jsonl', '--output', out('x.jsonl'), '--num-samples', '50'])
    expect(tooMany.code).toBe(2)
    expect(tooMany.stderr).toContain('--num-samples: asked for 50 samples but there are only 5 distinct rows')
    const missing = await runMain(['data', 'sharegpt', out('nothing.json'), out('x.jsonl')])
    expect(missing.code).toBe(2)
    for (const r of [both, tooMany, missing]) expect(hasStackTrace(r.stderr)).toBe(false)
  })
})

describe('fluxperf data validate', () => {
  test.each([
    ['fixtures/bad/invalid-json-line3.jsonl', 'fixtures/bad/invalid-json-line3.jsonl:3: invalid JSON'],
    ['fixtures/bad/wrong-types.jsonl', 'fixtures/bad/wrong-types.jsonl:2: "user_messages"[1] must be a string, got a number'],
    ['fixtures/bad/array-bad-element.json', 'fixtures/bad/array-bad-element.json:4: array element [2]'],
    ['fixtures/bad/empty-messages.jsonl', 'fixtures/bad/empty-messages.jsonl:2: "messages" is empty'],
    ['fixtures/bad/invalid-utf8.jsonl', 'fixtures/bad/invalid-utf8.jsonl:2: invalid UTF-8'],
    ['fixtures/bad/empty.jsonl', 'fixtures/bad/empty.jsonl: empty file'],
  ])('%s: names the broken line and exits 2', async (file, expected) => {
    const r = await runMain(['data', 'validate', file])
    expect(r.code).toBe(2)
    expect(r.stdout).toContain(expected)
    expect(r.stdout).toMatch(/INVALID: 1 problem in /)
  })

  test('every malformed line of a file, each with its number; the valid rows counted', async () => {
    const file = out('several.jsonl')
    writeFileSync(file, ['{"text": "fine"}', '{"text": ', '{"user_messages": []}', '', '{"text": "also fine"}', '{"question": "?"}'].join('\n'))
    const r = await runMain(['data', 'validate', file])
    expect(r.code).toBe(2)
    const reported = r.stdout.split('\n').filter((l) => l.startsWith(file)).map((l) => Number(l.slice(file.length + 1).split(':')[0]))
    expect(reported).toEqual([2, 3, 6])
    expect(r.stdout).toContain(`INVALID: 3 problems in ${file} (2 valid rows)`)
  })

  test('a valid file exits 0 with its row count', async () => {
    const r = await runMain(['data', 'validate', 'datasets/formats/sharegpt.jsonl'])
    expect(r.code).toBe(0)
    const rows = readFileSync('datasets/formats/sharegpt.jsonl', 'utf8').split('\n').filter((l) => l.trim() !== '').length
    expect(r.stdout).toBe(`OK: datasets/formats/sharegpt.jsonl: ${rows} rows\n`)
  })
})
