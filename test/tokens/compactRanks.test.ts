import { readdirSync, readFileSync } from 'node:fs'
import { Tiktoken } from 'js-tiktoken/lite'
import type { TiktokenBPE } from 'js-tiktoken/lite'
import { expect, test } from 'vitest'
import { compactTiktoken } from '../../src/tokens/compactRanks.ts'

// The compact tables must hold exactly what js-tiktoken's own constructor builds: every rank's bytes,
// every token's rank, and so every encoding and decoding of a corpus.

const corpus = (): string[] => {
  const root = new URL('../../', import.meta.url)
  const texts = [
    readFileSync(new URL('README.md', root), 'utf8'),
    readFileSync(new URL('datasets/example.jsonl', root), 'utf8'),
    ...readdirSync(new URL('src/client/', root)).filter((n) => n.endsWith('.ts')).map((n) => readFileSync(new URL(`src/client/${n}`, root), 'utf8')),
    'héllo wörld 😀👍🏽 日本語のテキスト 한국어 مرحبا Привет \u0000\u0001 \t\n\r\n  trailing   ',
    '<|endoftext|> is text here, not a special token',
    '',
  ]
  return texts
}

type Tables = { rankMap: Map<string, number>; textMap: { get(rank: number): Uint8Array | undefined } }

// Static specifiers: Vite cannot analyse an import built from a template string, and warns on every run.
const RANKS = {
  o200k_base: () => import('js-tiktoken/ranks/o200k_base'),
  cl100k_base: () => import('js-tiktoken/ranks/cl100k_base'),
}

for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
  test(`${encoding}: every rank and a corpus encode and decode as with js-tiktoken's constructor`, { timeout: 60_000 }, async () => {
    const ranks = (await RANKS[encoding]() as { default: TiktokenBPE }).default
    const stock = new Tiktoken(ranks)
    const compact = compactTiktoken(ranks)
    const a = stock as unknown as Tables
    const b = compact as unknown as Tables
    expect(b.rankMap.size).toBe(a.rankMap.size)
    expect(a.rankMap.size).toBeGreaterThan(50_000)
    let differing = 0
    for (const [key, rank] of a.rankMap) {
      if (b.rankMap.get(key) !== rank) differing++
      const bytes = b.textMap.get(rank)
      if (bytes === undefined || bytes.join(',') !== key) differing++
    }
    expect(differing).toBe(0)
    // Strings that are no token's comma-joined bytes are no key, as in the stock Map.
    const longest = Array.from({ length: 300 }, () => 32).join(',')
    for (const key of ['', '0', '97,', ',97', '097', '97,098', '256', '97,,98', 'a', '-1', '97 ', ' 97', '9\u0660', longest]) {
      expect(b.rankMap.get(key), JSON.stringify(key)).toBe(a.rankMap.get(key))
    }
    // A rank no token has, and things that are no rank, decode to nothing in both.
    for (const rank of [-1, 1.5, 10_000_000]) expect(b.textMap.get(rank)).toBe(a.textMap.get(rank))
    for (const text of corpus()) {
      const tokens = stock.encode(text, [], [])
      expect(compact.encode(text, [], [])).toEqual(tokens)
      expect(compact.decode(tokens)).toBe(stock.decode(tokens))
    }
    // Special tokens are the stock constructor's own.
    expect(compact.encode('<|endoftext|>', 'all')).toEqual(stock.encode('<|endoftext|>', 'all'))
    expect(compact.decode(stock.encode('<|endoftext|>', 'all'))).toBe('<|endoftext|>')
  })
}

test('a token listed twice keeps its last rank, and a line without ranks is skipped, as the stock constructor does', () => {
  // "YQ==" is "a", "Yg==" is "b".
  const ranks: TiktokenBPE = { pat_str: '\\S+|\\s+', special_tokens: {}, bpe_ranks: '! 0 YQ== Yg==\n\n! 5 YQ==' }
  const stock = new Tiktoken(ranks)
  const compact = compactTiktoken(ranks)
  expect(compact.encode('a b', [], [])).toEqual(stock.encode('a b', [], []))
  expect(compact.encode('a', [], [])).toEqual([5])
  expect(compact.decode([5, 1, 0])).toBe(stock.decode([5, 1, 0]))
})
