// A dataset row may offer tools: checked when the dataset loads, so a typo names its row.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { loadDataset, parseRow } from '../../src/data/index.ts'

const place = { fallbackId: 'row-1', source: 'd.jsonl:1' }
const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }
const dir = mkdtempSync(join(tmpdir(), 'fluxperf-tools-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('tools and tool_choice in a dataset row', () => {
  test('are kept on the conversation, in any row format', () => {
    const row = parseRow({ messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weather], tool_choice: 'required' }, place)
    expect(row).toEqual({ ok: true, conversation: { sessionId: 'row-1', userMessages: ['Weather in Paris?'], source: 'd.jsonl:1', tools: [weather], toolChoice: 'required' } })
    const named = parseRow({ text: 'x', tools: [weather], tool_choice: { type: 'function', function: { name: 'get_weather' } } }, place)
    expect(named.ok && named.conversation.toolChoice).toEqual({ type: 'function', function: { name: 'get_weather' } })
    const none = parseRow({ text: 'x' }, place)
    expect(none.ok && 'tools' in none.conversation).toBe(false)
  })

  test('a bad shape is an error naming the file, line and what was expected', async () => {
    const path = join(dir, 'bad.jsonl')
    writeFileSync(path, [
      JSON.stringify({ text: 'fine', tools: [weather] }),
      JSON.stringify({ text: 'x', tools: [{ type: 'function', name: 'flat' }] }),
    ].join('\n') + '\n')
    await expect(loadDataset(path)).rejects.toThrow(/bad\.jsonl:2: "tools"\[0\] must be \{"type": "function", "function": \{"name": "\.\.\."/)
    for (const [row, message] of [
      [{ text: 'x', tools: [] }, /"tools" must be a non-empty list of tools, got an empty list/],
      [{ text: 'x', tools: 'get_weather' }, /"tools" must be a non-empty list of tools, got a string/],
      [{ text: 'x', tools: [weather], tool_choice: 'sometimes' }, /"tool_choice" must be "auto", "none", "required" or/],
      [{ text: 'x', tool_choice: 'auto' }, /"tool_choice" needs "tools" in the same row/],
      [{ text: 'x', tools: [weather], tool_choice: { type: 'function', function: { name: 'get_time' } } }, /"tool_choice" names "get_time", which is not in "tools" \(get_weather\)/],
    ] as const) {
      const result = parseRow(row, place)
      expect(result.ok).toBe(false)
      expect(!result.ok && result.message).toMatch(message)
    }
  })
})
