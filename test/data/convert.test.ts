import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { loadDataset } from '../../src/data/index.ts'
import { convertLongBench, convertShareGpt, readJsonValues } from '../../src/data/convert/index.ts'
import type { SourceValue } from '../../src/data/convert/index.ts'
import { InputError } from '../../src/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-convert-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const out = (name: string): string => join(dir, name)
const lines = (path: string): Record<string, unknown>[] => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)

async function values(path: string): Promise<SourceValue[]> {
  const all: SourceValue[] = []
  for await (const v of readJsonValues(path)) all.push(v)
  return all
}

describe('convertShareGpt', () => {
  test('the shipped sample: human turns only, ids made unique, a row without a human turn skipped; the output loads', async () => {
    const report = await convertShareGpt({ input: 'datasets/sharegpt-sample.json', output: out('sg.jsonl') })
    expect(report).toMatchObject({ read: 7, written: 6, skipped: { 'no human turn': 1 } })
    const rows = lines(out('sg.jsonl'))
    expect(rows[0]).toEqual({
      session_id: 'sg-plan-01',
      user_messages: [
        'I want to start running. What should my first week look like if I currently do no exercise at all?',
        'My knees ache a little after walking fast. Should I still try?',
        'How do I know when I am ready to move to the second week?',
      ],
      source: 'datasets/sharegpt-sample.json',
    })
    expect(rows.map((r) => r['session_id'])).toContain('sg-code-02#2')
    const conversations = await loadDataset(out('sg.jsonl'))
    expect(conversations).toHaveLength(6)
    expect(conversations[0]?.userMessages).toHaveLength(3)
  })

  test('--min-turns and --max-sessions', async () => {
    const report = await convertShareGpt({ input: 'datasets/sharegpt-sample.json', output: out('sg-min.jsonl'), minTurns: 3, maxSessions: 2 })
    expect(report.written).toBe(2)
    expect(lines(out('sg-min.jsonl')).every((r) => (r['user_messages'] as string[]).length >= 3)).toBe(true)
  })

  test('a directory of JSON-array and JSONL files, read in path order', async () => {
    const src = out('sg-dir')
    mkdirSync(join(src, 'nested'), { recursive: true })
    writeFileSync(join(src, 'b.jsonl'), [
      JSON.stringify({ id: 'j1', conversations: [{ from: 'human', value: 'from jsonl' }] }),
      '',
      '{broken',
      JSON.stringify({ id: 'j2', conversations: [{ from: 'user', value: 'second' }, { from: 'gpt', value: 'a' }] }),
    ].join('\n'))
    writeFileSync(join(src, 'a.json'), JSON.stringify([{ id: 'a1', conversations: [{ from: 'human', value: 'from array' }] }], null, 2))
    writeFileSync(join(src, 'nested', 'c.json'), JSON.stringify([{ conversations: [{ from: 'human', value: 'no id' }] }]))
    writeFileSync(join(src, 'notes.txt'), 'ignored')
    const report = await convertShareGpt({ input: src, output: out('sg-dir.jsonl') })
    expect(report.files.map((f) => f.slice(src.length + 1))).toEqual(['a.json', 'b.jsonl', 'nested/c.json'])
    expect(report.skipped).toEqual({ 'invalid JSON': 1 })
    expect(report.examples[0]).toMatch(/b\.jsonl:3: invalid JSON/)
    expect(lines(out('sg-dir.jsonl')).map((r) => r['session_id'])).toEqual(['a1', 'j1', 'j2', 'session-4'])
  })

  test('nothing usable: an InputError, and no output file is left behind', async () => {
    const src = out('no-human.json')
    writeFileSync(src, JSON.stringify([{ id: 'x', conversations: [{ from: 'gpt', value: 'hi' }] }]))
    await expect(convertShareGpt({ input: src, output: out('none.jsonl') })).rejects.toThrow(InputError)
    expect(existsSync(out('none.jsonl'))).toBe(false)
    expect(readdirSync(dir).some((f) => f.includes('.tmp-'))).toBe(false)
  })

  test('a missing input, and an output that is the input, are InputErrors', async () => {
    await expect(convertShareGpt({ input: out('missing.json'), output: out('x.jsonl') })).rejects.toThrow(/does not exist/)
    await expect(convertShareGpt({ input: 'datasets/sharegpt-sample.json', output: 'datasets/sharegpt-sample.json' })).rejects.toThrow(/is also an input/)
  })
})

describe('readJsonValues: a JSON array streamed element by element', () => {
  test('elements across 1 MB read chunks, strings holding brackets, quotes and escapes, line numbers', async () => {
    const big = 'x'.repeat(1.5 * 1024 * 1024)
    const items = [{ a: 'tricky ] } [ { " \\ \n', n: [1, [2]] }, { big }, 'a string', 42, null, { last: true }]
    const path = out('stream.json')
    writeFileSync(path, `\uFEFF[\n${items.map((i) => JSON.stringify(i)).join(',\n')}\n]\n`)
    const got = await values(path)
    expect(got.map((v) => (v.ok ? v.value : v.message))).toEqual(items)
    expect(got.map((v) => v.line)).toEqual([2, 3, 4, 5, 6, 7])
  })

  test('a truncated array and a bad element are reported with their line', async () => {
    writeFileSync(out('cut.json'), '[\n{"a": 1},\n{"b": 2')
    const cut = await values(out('cut.json'))
    expect(cut.at(-1)).toMatchObject({ ok: false, fatal: true, message: expect.stringMatching(/cut off/) })
    writeFileSync(out('bad-el.json'), '[\n{"a": 1},\n{"b": tru},\n{"c": 3}\n]')
    const bad = await values(out('bad-el.json'))
    expect(bad.map((v) => v.ok)).toEqual([true, false, true])
    expect(bad[1]).toMatchObject({ line: 3, message: expect.stringMatching(/array element \[1\]: invalid JSON/) })
  })
})

describe('convertLongBench (local files)', () => {
  test('the shipped sample: context + input prompts, the duplicate removed; text and messages outputs load', async () => {
    const report = await convertLongBench({ input: 'datasets/longbench-sample.jsonl', output: out('lb.jsonl') })
    expect(report).toMatchObject({ read: 6, distinct: 5, duplicates: 1, written: 5 })
    const rows = lines(out('lb.jsonl'))
    expect(rows[0]).toMatchObject({ id: 'narrativeqa-fluxperf-nq-0001', dataset: 'narrativeqa', language: 'en' })
    expect(rows[0]?.['text']).toMatch(/^The harbour town of Velmere[\s\S]*\n\nWhy did the number of ships visiting Velmere fall after the railway arrived\?$/)
    // a summarisation row has no input: the prompt is the context alone
    expect(rows.find((r) => r['dataset'] === 'gov_report')?.['text']).toMatch(/electric bicycles on the two hilliest routes\.$/)
    const loaded = await loadDataset(out('lb.jsonl'))
    expect(loaded.map((c) => c.sessionId)).toEqual(rows.map((r) => r['id']))

    await convertLongBench({ input: 'datasets/longbench-sample.jsonl', output: out('lb-msg.jsonl'), format: 'messages' })
    const messages = lines(out('lb-msg.jsonl'))
    expect(messages[0]?.['messages']).toEqual([{ role: 'user', content: rows[0]?.['text'] }])
    expect((await loadDataset(out('lb-msg.jsonl'))).map((c) => c.userMessages[0])).toEqual(rows.map((r) => r['text']))
  })

  test('the sampling guard: a seeded sample never repeats a row; more than exist is an error unless --allow-repeat', async () => {
    await convertLongBench({ input: 'datasets/longbench-sample.jsonl', output: out('s1.jsonl'), numSamples: 3, seed: 5 })
    await convertLongBench({ input: 'datasets/longbench-sample.jsonl', output: out('s2.jsonl'), numSamples: 3, seed: 5 })
    const ids = lines(out('s1.jsonl')).map((r) => r['id'])
    expect(new Set(ids).size).toBe(3)
    expect(lines(out('s2.jsonl')).map((r) => r['id'])).toEqual(ids)

    await expect(convertLongBench({ input: 'datasets/longbench-sample.jsonl', output: out('s3.jsonl'), numSamples: 9 }))
      .rejects.toThrow(/asked for 9 samples but there are only 5 distinct rows \(1 duplicates removed\); lower --num-samples, or pass --allow-repeat/)
    const report = await convertLongBench({ input: 'datasets/longbench-sample.jsonl', output: out('s4.jsonl'), numSamples: 9, allowRepeat: true })
    expect(report).toMatchObject({ written: 9, repeated: 4 })
    const repeated = lines(out('s4.jsonl')).map((r) => r['id'] as string)
    expect(new Set(repeated).size).toBe(9)
    expect(repeated.filter((id) => id.includes('#r'))).toHaveLength(4)
  })

  test('--input-dir: every file, rows without a dataset field named after their file; bad rows skipped', async () => {
    const src = out('lb-dir')
    mkdirSync(src, { recursive: true })
    writeFileSync(join(src, 'qasper.jsonl'), [
      JSON.stringify({ input: 'What is measured?', context: 'A paper about measuring things.', _id: 'q1' }),
      JSON.stringify({ input: 'No context here' }),
      JSON.stringify({ input: 'Same id again', context: 'Different text.', _id: 'q1' }),
    ].join('\n'))
    writeFileSync(join(src, 'trec.jsonl'), JSON.stringify({ input: 'Classify: what is a fjord?', context: 'Examples...', _id: 't1', dataset: 'trec' }) + '\n')
    const report = await convertLongBench({ inputDir: src, output: out('lb-dir.jsonl') })
    expect(report).toMatchObject({ read: 4, distinct: 2, duplicates: 1, skipped: { '"context" is missing or not a string': 1 } })
    expect(lines(out('lb-dir.jsonl')).map((r) => r['id'])).toEqual(['qasper-q1', 'trec-t1'])
  })

  test('exactly one source', async () => {
    await expect(convertLongBench({ output: out('x.jsonl') })).rejects.toThrow(/exactly one of --input FILE, --input-dir DIR or --dataset NAME/)
    await expect(convertLongBench({ input: 'a', dataset: 'b', output: out('x.jsonl') })).rejects.toThrow(InputError)
  })
})
