import { expect, test } from 'vitest'
import { getTokenizer } from '../../src/tokens/index.ts'

const SENTENCE = 'The quarterly figures rose steadily.'

test('count is the number of tokens encode gives; the empty text has none', async () => {
  const tokenizer = await getTokenizer()
  expect(tokenizer.count('')).toBe(0)
  expect(tokenizer.count('Hello, world!')).toBe(4)
  expect(tokenizer.count(SENTENCE)).toBe(6)
  expect(tokenizer.count(SENTENCE)).toBe(tokenizer.encode(SENTENCE).length)
})

test('encode and decode round-trip text with newlines, accents and emoji', async () => {
  const tokenizer = await getTokenizer()
  const text = 'Résumé:\n\t- naïve café 😀\n\n```ts\nconst x = 1\n```'
  expect(tokenizer.decode(tokenizer.encode(text))).toBe(text)
})

test('truncate keeps the first maxTokens tokens', async () => {
  const tokenizer = await getTokenizer()
  expect(tokenizer.truncate(SENTENCE, 3)).toBe('The quarterly figures')
  expect(tokenizer.count(tokenizer.truncate(SENTENCE, 5))).toBe(5)
})

test('truncate returns the text itself when it fits, and nothing for 0 or fewer tokens', async () => {
  const tokenizer = await getTokenizer()
  expect(tokenizer.truncate(SENTENCE, 6)).toBe(SENTENCE)
  expect(tokenizer.truncate(SENTENCE, 100)).toBe(SENTENCE)
  expect(tokenizer.truncate(SENTENCE, 0)).toBe('')
  expect(tokenizer.truncate(SENTENCE, -2)).toBe('')
})

test('countLater gives count\'s answer for short and empty texts', async () => {
  const tokenizer = await getTokenizer('cl100k_base')
  expect(await tokenizer.countLater('')).toBe(0)
  expect(await tokenizer.countLater(SENTENCE)).toBe(tokenizer.count(SENTENCE))
  // Just over one slice (16,384 characters) of words: cut at a space, so the count is exact.
  const words = `${SENTENCE} `.repeat(500)
  expect(words.length).toBeGreaterThan(16_384)
  expect(await tokenizer.countLater(words)).toBe(tokenizer.count(words))
})
