import { readFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { getTokenizer, MAX_RUN } from '../../src/tokens/tokenizer.ts'

test('natural text counts exactly as js-tiktoken does (no run is sliced)', async () => {
  const tokenizer = await getTokenizer()
  const text = readFileSync(new URL('../../datasets/example.jsonl', import.meta.url), 'utf8')
  expect(/\S{257,}/.test(text)).toBe(false)
  const tokens = tokenizer.encode(text)
  expect(tokens.length).toBeGreaterThan(1000)
  expect(tokenizer.decode(tokens)).toBe(text)
  expect(tokenizer.count('Hello, world!')).toBe(4)
})

// Without slicing, js-tiktoken needs minutes for these (quadratic merging of one piece), on the event
// loop: a test timeout is the failure, and no timing is asserted.
test('a 100,000-character word is counted in slices, round-trips, and is close to its exact count', { timeout: 60_000 }, async () => {
  const tokenizer = await getTokenizer()
  const word = 'ab'.repeat(50_000)
  const tokens = tokenizer.encode(word)
  expect(tokenizer.decode(tokens)).toBe(word)
  // Each MAX_RUN-character slice of "abab…" is encoded alone; at most one token per slice differs.
  const sliced = Math.ceil(word.length / MAX_RUN)
  const perSlice = tokenizer.count('ab'.repeat(MAX_RUN / 2))
  expect(Math.abs(tokens.length - sliced * perSlice)).toBeLessThanOrEqual(sliced)
  expect(tokenizer.truncate(`${word} end`, 10)).toBe(tokenizer.decode(tokens.slice(0, 10)))
})

test('a slice never splits a surrogate pair', async () => {
  const tokenizer = await getTokenizer()
  const text = `${'x'.repeat(MAX_RUN - 1)}😀${'y'.repeat(MAX_RUN)}`
  expect(tokenizer.decode(tokenizer.encode(text))).toBe(text)
})

test('countLater counts natural text exactly as count does, and lets timers run between slices', async () => {
  const tokenizer = await getTokenizer()
  const text = readFileSync(new URL('../../datasets/example.jsonl', import.meta.url), 'utf8').repeat(8)
  expect(text.length).toBeGreaterThan(100_000)
  let ticks = 0
  const timer = setInterval(() => ticks++, 0)
  const counted = await tokenizer.countLater(text)
  clearInterval(timer)
  expect(counted).toBe(tokenizer.count(text))
  // The count yielded at least once per slice: an interval got to run meanwhile.
  expect(ticks).toBeGreaterThan(0)
})
