import { Tiktoken } from 'js-tiktoken/lite'
import type { TiktokenBPE } from 'js-tiktoken/lite'

/**
 * js-tiktoken's encoder with its rank tables built compactly. The stock constructor decodes every rank
 * through an object of 200,000 base64 keys and keeps one Uint8Array per rank for decoding: for o200k_base
 * that is 75 MB of heap kept and about 220 MB of RSS once built, most of a `fluxperf run` process's
 * memory. Here the ranks are read in one pass and the bytes of every rank kept in one array: 23 MB of
 * heap, 123 MB of RSS, and a third faster to build (docs/performance.md § "The tokenizer's tables").
 *
 * Encoding and decoding stay js-tiktoken's own code; only its two tables are filled differently, with the
 * same contents: `rankMap` (the bytes of a token, comma-joined, to its rank; a token listed twice keeps
 * its last rank, as the stock constructor's object does) and `textMap` (a rank to its bytes; only get()
 * is used, by decode). Both are internal fields, so test/tokens/compactRanks.test.ts compares every
 * rank and a corpus's encodings with the stock constructor's: an upgrade that renames them fails there.
 */
export function compactTiktoken(ranks: TiktokenBPE): Tiktoken {
  // The stock constructor with no ranks sets everything else (pattern, special tokens, coders).
  const bpe = new Tiktoken({ pat_str: ranks.pat_str, special_tokens: ranks.special_tokens, bpe_ranks: '' })
  const tables = bpe as unknown as InternalTables
  if (!(tables.rankMap instanceof Map) || !(tables.textMap instanceof Map)) {
    throw new Error('js-tiktoken changed its internal tables (rankMap, textMap): src/tokens/compactRanks.ts must follow')
  }
  const rankMap = readRanks(ranks.bpe_ranks)
  tables.rankMap = rankMap
  tables.textMap = bytesByRank(rankMap)
  return bpe
}

interface InternalTables {
  rankMap: Map<string, number>
  textMap: { get(rank: number): Uint8Array | undefined }
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const BASE64_VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < BASE64.length; i++) BASE64_VALUE[BASE64.charCodeAt(i)] = i

/**
 * The ranks file's lines are `<ignored> <first rank> <base64 token> <base64 token> ...`, ranks rising by
 * one per token (js-tiktoken's compressed format).
 */
function readRanks(text: string): Map<string, number> {
  const rankMap = new Map<string, number>()
  const bytes: number[] = []
  for (let lineStart = 0; lineStart < text.length;) {
    let lineEnd = text.indexOf('\n', lineStart)
    if (lineEnd < 0) lineEnd = text.length
    const fields = text.slice(lineStart, lineEnd).split(' ')
    lineStart = lineEnd + 1
    if (fields.length < 2) continue
    const first = Number.parseInt(fields[1] as string, 10)
    for (let i = 2; i < fields.length; i++) {
      const token = fields[i] as string
      if (token === '') continue
      decodeBase64(token, bytes)
      rankMap.set(bytes.join(','), first + i - 2)
    }
  }
  return rankMap
}

/** A base64 token's bytes into `out` (emptied first); stops at padding. */
function decodeBase64(token: string, out: number[]): void {
  out.length = 0
  let acc = 0
  let bits = 0
  for (let j = 0; j < token.length; j++) {
    const code = token.charCodeAt(j)
    const value = code < 128 ? BASE64_VALUE[code] as number : -1
    if (value < 0) break
    acc = ((acc << 6) | value) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out.push((acc >> bits) & 0xff)
    }
  }
}

/** Every rank's bytes in one array; get() answers a view of them, as the stock Map answers its own array. */
function bytesByRank(rankMap: Map<string, number>): InternalTables['textMap'] {
  let size = 0
  let maxRank = -1
  const keys: string[][] = []
  for (const [key, rank] of rankMap) {
    const parts = key.split(',')
    keys.push(parts)
    size += parts.length
    if (rank > maxRank) maxRank = rank
  }
  const pool = new Uint8Array(size)
  const start = new Int32Array(maxRank + 1).fill(-1)
  const end = new Int32Array(maxRank + 1)
  let at = 0
  let k = 0
  for (const rank of rankMap.values()) {
    start[rank] = at
    for (const b of keys[k++] as string[]) pool[at++] = Number(b)
    end[rank] = at
  }
  return {
    get(rank: number): Uint8Array | undefined {
      if (!Number.isInteger(rank) || rank < 0 || rank > maxRank || (start[rank] as number) < 0) return undefined
      return pool.subarray(start[rank], end[rank])
    },
  }
}
