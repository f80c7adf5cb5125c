import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateDataset } from '../../src/data/index.ts'
import { InputError } from '../../src/errors.ts'

const bad = (name: string): string => fileURLToPath(new URL(`../../fixtures/bad/${name}`, import.meta.url))

describe('validateDataset', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxperf-validate-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('collects every malformed line, not just the first', async () => {
    const path = join(dir, 'mixed.jsonl')
    await writeFile(path, ['{"text": "ok"}', '{oops', '', '{"user_messages": "x"}', '{"text": "ok too"}', '{"foo": 1}', '{"messages": []}'].join('\n'))
    const report = await validateDataset(path)
    expect(report.rows).toBe(2)
    expect(report.problems.map((p) => p.line)).toEqual([2, 4, 6, 7])
    expect(report.problems[0]).toMatchObject({ where: `${path}:2` })
    expect(report.problems[0]?.message).toMatch(/^invalid JSON \(/)
    expect(report.problems[1]?.message).toMatch(/^"user_messages" must be an array of strings/)
    expect(report.problems[2]?.message).toMatch(/^unknown row format/)
    expect(report.problems[3]?.message).toMatch(/^"messages" is empty/)
  })

  it('collects every bad element of a JSON array, with its index', async () => {
    const path = join(dir, 'array.json')
    await writeFile(path, '[\n{"text": 1},\n{"text": "ok"},\n{"nope": true}\n]')
    const report = await validateDataset(path)
    expect(report.rows).toBe(1)
    expect(report.problems.map((p) => [p.line, p.message.slice(0, 19)])).toEqual([
      [2, 'array element [0]: '],
      [4, 'array element [2]: '],
    ])
  })

  it('a clean file has no problems', async () => {
    const report = await validateDataset(fileURLToPath(new URL('../../datasets/example.jsonl', import.meta.url)))
    expect(report.problems).toEqual([])
    expect(report.rows).toBeGreaterThanOrEqual(12)
  })

  it('stops at binary content (one problem, not one per line)', async () => {
    const report = await validateDataset(bad('binary.jsonl'))
    expect(report).toEqual({ rows: 0, problems: [expect.objectContaining({ line: 1, message: expect.stringMatching(/^binary content/) })] })
  })

  it('reports an empty file as a whole-file problem (line 0)', async () => {
    const report = await validateDataset(bad('empty.jsonl'))
    expect(report.problems).toEqual([{ line: 0, where: bad('empty.jsonl'), message: expect.stringMatching(/^empty file/) }])
  })

  it('throws InputError for a missing file', async () => {
    await expect(validateDataset(bad('missing.jsonl'))).rejects.toBeInstanceOf(InputError)
  })
})
