import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDataset } from '../../src/data/index.ts'

const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url))

describe('loadDataset: shipped format examples', () => {
  it('text rows, with "prompt" as an alias and an optional id', async () => {
    const path = repo('datasets/formats/text.jsonl')
    const convs = await loadDataset(path)
    expect(convs).toEqual([
      { sessionId: 'row-1', userMessages: ['Write a poem about spring.'], source: `${path}:1` },
      { sessionId: 'row-2', userMessages: ['Explain the principle of quantum entanglement in three sentences.'], source: `${path}:2` },
      { sessionId: 'novels', userMessages: ['Recommend three science fiction novels and say why in one line each.'], source: `${path}:3` },
    ])
  })

  it('session rows keep session_id and every user message in order (extra keys ignored)', async () => {
    const convs = await loadDataset(repo('datasets/formats/sessions.jsonl'))
    expect(convs.map((c) => [c.sessionId, c.userMessages])).toEqual([
      ['s1', ['What is a prefix cache in an LLM server?', 'Why does it lower the time to first token?']],
      ['s2', ['Name a sorting algorithm that is stable.', 'Show it on the list [3, 1, 2].']],
    ])
  })

  it('ShareGPT rows: human turns replayed, gpt turns dropped, system kept, id used', async () => {
    const convs = await loadDataset(repo('datasets/formats/sharegpt.jsonl'))
    expect(convs[0]).toMatchObject({ sessionId: 'sg-1', userMessages: ['hi', 'How are you?'], system: 'You are a concise assistant.' })
    expect(convs[1]).toMatchObject({ sessionId: 'sg-2', userMessages: ['Give me a synonym for quick.'] })
    expect(convs[1]?.system).toBeUndefined()
  })

  it('OpenAI rows: string content and text-part arrays', async () => {
    const convs = await loadDataset(repo('datasets/formats/openai.jsonl'))
    expect(convs[0]).toMatchObject({ sessionId: 'row-1', userMessages: ['What does TTFT stand for?', 'And TPOT?'], system: 'Answer in one sentence.' })
    expect(convs[1]?.userMessages).toEqual(['Summarise this line:\nThe quick brown fox jumps over the lazy dog.'])
  })

  it('a JSON array: item-<i> ids and the line each element starts on', async () => {
    const path = repo('datasets/formats/array.json')
    const convs = await loadDataset(path)
    expect(convs.map((c) => [c.sessionId, c.userMessages.length, c.source])).toEqual([
      ['item-0', 1, `${path}:2`],
      ['arr-1', 2, `${path}:3`],
      ['item-2', 1, `${path}:4`],
    ])
  })

  it('the example dataset: single prompts, multi-turn rows and long shared contexts', async () => {
    const convs = await loadDataset(repo('datasets/example.jsonl'))
    expect(convs.length).toBeGreaterThanOrEqual(12)
    expect(convs.filter((c) => c.userMessages.length > 1).length).toBeGreaterThanOrEqual(3)
    expect(Math.max(...convs.map((c) => c.userMessages[0]?.length ?? 0))).toBeGreaterThan(3000)
    expect(new Set(convs.map((c) => c.sessionId)).size).toBe(convs.length)
  })
})

describe('loadDataset: file handling', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxperf-load-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('skips blank lines, accepts CRLF and a BOM, and keeps physical line numbers', async () => {
    const path = join(dir, 'crlf.jsonl')
    await writeFile(path, '\uFEFF{"text": "a"}\r\n\r\n   \r\n{"text": "b"}\r\n{"text": "c"}')
    const convs = await loadDataset(path)
    expect(convs.map((c) => [c.sessionId, c.userMessages[0], c.source])).toEqual([
      ['row-1', 'a', `${path}:1`],
      ['row-4', 'b', `${path}:4`],
      ['row-5', 'c', `${path}:5`],
    ])
  })

  it('a JSON array after leading whitespace, with numeric ids and multi-byte text', async () => {
    const path = join(dir, 'array.json')
    await writeFile(path, '\n\n  [{"id": 7, "text": "héllo wörld 你好"},\n {"text": "[not an array start]"}]')
    const convs = await loadDataset(path)
    expect(convs.map((c) => [c.sessionId, c.userMessages[0], c.source])).toEqual([
      ['7', 'héllo wörld 你好', `${path}:3`],
      ['item-1', '[not an array start]', `${path}:4`],
    ])
  })

  it('streams a file with many rows and multi-byte characters split across read chunks', async () => {
    const path = join(dir, 'many.jsonl')
    const text = 'ü'.repeat(700)
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ session_id: `s${i}`, user_messages: [`${i} ${text}`] }))
    await writeFile(path, `${lines.join('\n')}\n`)
    const convs = await loadDataset(path)
    expect(convs).toHaveLength(3000)
    expect(convs[2999]).toMatchObject({ sessionId: 's2999', userMessages: [`2999 ${text}`], source: `${path}:3000` })
  })

  it('system messages: several are joined; OpenAI "developer" is a system message', async () => {
    const path = join(dir, 'system.jsonl')
    await writeFile(path, `${JSON.stringify({ messages: [{ role: 'developer', content: 'A.' }, { role: 'system', content: [{ type: 'text', text: 'B.' }] }, { role: 'user', content: 'q' }, { role: 'assistant', content: null }] })}\n`)
    const [conv] = await loadDataset(path)
    expect(conv).toMatchObject({ system: 'A.\n\nB.', userMessages: ['q'] })
  })
})
