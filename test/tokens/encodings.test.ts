import { expect, test } from 'vitest'
import { InputError } from '../../src/errors.ts'
import { getTokenizer, isEncodingName } from '../../src/tokens/index.ts'
import type { EncodingName } from '../../src/tokens/index.ts'

// Token ids of "hello world" and "    indented code" under each encoding, as js-tiktoken (and OpenAI's
// tiktoken) give them: a tokenizer loaded with the wrong rank table fails here.
const KNOWN: [EncodingName, number[], number[]][] = [
  ['o200k_base', [24912, 2375], [271, 1383, 23537, 3490]],
  ['cl100k_base', [15339, 1917], [262, 1280, 16243, 2082]],
  ['p50k_base', [31373, 995], [50258, 773, 4714, 2438]],
  ['r50k_base', [31373, 995], [220, 220, 220, 773, 4714, 2438]],
]

test.each(KNOWN)('%s loads its own rank table', async (encoding, hello, indented) => {
  const tokenizer = await getTokenizer(encoding)
  expect(tokenizer.encoding).toBe(encoding)
  expect(tokenizer.encode('hello world')).toEqual(hello)
  expect(tokenizer.encode('    indented code')).toEqual(indented)
  expect(tokenizer.decode(indented)).toBe('    indented code')
})

test('the default encoding is o200k_base, and each encoding is loaded once and shared', async () => {
  const byDefault = await getTokenizer()
  expect(byDefault.encoding).toBe('o200k_base')
  expect(await getTokenizer('o200k_base')).toBe(byDefault)
  expect(await getTokenizer('cl100k_base')).toBe(await getTokenizer('cl100k_base'))
})

test('isEncodingName knows the four encodings and nothing else', () => {
  for (const [name] of KNOWN) expect(isEncodingName(name)).toBe(true)
  for (const name of ['gpt2', 'O200K_BASE', '', 'toString', '__proto__']) expect(isEncodingName(name)).toBe(false)
})

test('an unknown encoding is an InputError naming the known ones', async () => {
  const loading = getTokenizer('gpt2' as EncodingName)
  await expect(loading).rejects.toBeInstanceOf(InputError)
  await expect(loading).rejects.toThrow('tokenizer: unknown encoding "gpt2"; expected one of o200k_base, cl100k_base, p50k_base, r50k_base')
})
