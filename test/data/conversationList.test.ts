import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listOf, loadConversationList, loadDataset, pickConversations, sampleConversations, sampleIndexes } from '../../src/data/index.ts'
import type { ConversationList } from '../../src/data/index.ts'
import type { Conversation } from '../../src/types.ts'

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url))
const whole = (list: ConversationList): Conversation[] => Array.from({ length: list.length }, (_, i) => list.at(i))

describe('loadConversationList', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxperf-list-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  // Every shipped format, a JSON array, and rows of every kind mixed (one-turn rows between others).
  const files = ['datasets/formats/text.jsonl', 'datasets/formats/sessions.jsonl', 'datasets/formats/sharegpt.jsonl', 'datasets/formats/openai.jsonl', 'datasets/example.jsonl']
  for (const file of files) {
    it(`gives loadDataset's conversations for ${file}`, async () => {
      const path = repo(file)
      expect(whole(await loadConversationList(path))).toEqual(await loadDataset(path))
    })
  }

  it('gives loadDataset\'s conversations for mixed rows, blank lines and a JSON array', async () => {
    const weather = { type: 'function', function: { name: 'weather', parameters: { type: 'object' } } }
    const jsonl = join(dir, 'mixed.jsonl')
    await writeFile(jsonl, [
      '{"text": "one"}',
      '',
      '{"prompt": "two", "id": "named"}',
      '{"text": "three"}',
      '{"session_id": "s", "user_messages": ["a", "b"]}',
      '{"messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "four"}]}',
      JSON.stringify({ text: 'five', tools: [weather], tool_choice: 'auto' }),
      '{"text": "six, with \\"quotes\\" and é"}',
      // A lone surrogate has no UTF-8 form; a pair (an emoji) has.
      '{"text": "seven \\ud800 alone"}',
      '{"text": "eight \\ud83d\\ude00 paired"}',
    ].join('\n'))
    const list = await loadConversationList(jsonl)
    expect(list.length).toBe(9)
    expect(list.at(7).userMessages[0]).toBe('seven \ud800 alone')
    expect(list.at(8).userMessages[0]).toBe('eight 😀 paired')
    expect(whole(list)).toEqual(await loadDataset(jsonl))
    expect(list.at(2)).toEqual({ sessionId: 'row-4', userMessages: ['three'], source: `${jsonl}:4` })
    // A one-turn row is kept as its text and made on each access; any other row is kept as it was read.
    expect(list.at(2)).not.toBe(list.at(2))
    expect(list.at(1)).toBe(list.at(1))
    expect(list.at(3)).toBe(list.at(3))
    const array = join(dir, 'rows.json')
    await writeFile(array, JSON.stringify([{ text: 'x' }, { text: 'y' }]))
    expect(whole(await loadConversationList(array))).toEqual(await loadDataset(array))
  })

  it('fails at the first bad row with loadDataset\'s InputError', async () => {
    const path = join(dir, 'bad.jsonl')
    await writeFile(path, '{"text": "ok"}\n{"text": 3}\n')
    const expected = await loadDataset(path).catch((error: unknown) => error)
    expect(expected).toBeInstanceOf(Error)
    await expect(loadConversationList(path)).rejects.toThrow((expected as Error).message)
    expect((expected as Error).message).toContain(`${path}:2`)
  })
})

describe('sampleIndexes and pickConversations', () => {
  const convs: Conversation[] = Array.from({ length: 30 }, (_, i) => ({ sessionId: `s${i}`, userMessages: [`q${i}`], source: `f:${i + 1}` }))

  it('pick the rows sampleConversations picks, for the same seed', () => {
    for (const n of [undefined, 1, 7, 30, 99]) {
      expect(whole(pickConversations(listOf(convs), sampleIndexes(convs.length, n, 5)))).toEqual(sampleConversations(convs, n, 5))
    }
    expect(sampleIndexes(30, 7, 5)).not.toEqual(sampleIndexes(30, 7, 6))
  })

  it('reject a sample size that is not a whole number ≥ 1', () => {
    expect(() => sampleIndexes(30, 0, 1)).toThrow(/whole number ≥ 1/)
  })
})
