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
  const read = readRanks(ranks.bpe_ranks)
  tables.rankMap = read.rankMap
  tables.textMap = read.textMap
  return bpe
}

interface InternalTables {
  rankMap: Map<string, number>
  textMap: { get(rank: number): Uint8Array | undefined }
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const BASE64_VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < BASE64.length; i++) BASE64_VALUE[BASE64.charCodeAt(i)] = i
const SPACE = 0x20
const NEWLINE = 0x0a

/**
 * The ranks file's lines are `<ignored> <first rank> <base64 token> <base64 token> ...`, ranks rising by
 * one per token (js-tiktoken's compressed format). Read by character codes, without a substring per
 * token: the only strings kept are the map's keys.
 */
function readRanks(text: string): InternalTables {
  const rankMap = new Map<string, number>()
  // Base64 decodes to at most 3 bytes per 4 characters.
  const pool = new Uint8Array(Math.ceil(text.length * 3 / 4))
  const ranges: number[] = []
  let used = 0
  let maxRank = -1
  const bytes: number[] = []
  for (let at = 0; at < text.length;) {
    // A line: skip its first field, read its first rank, then its tokens.
    let lineEnd = text.indexOf('\n', at)
    if (lineEnd < 0) lineEnd = text.length
    const firstSpace = text.indexOf(' ', at)
    if (firstSpace < 0 || firstSpace >= lineEnd) {
      at = lineEnd + 1
      continue
    }
    let fieldEnd = text.indexOf(' ', firstSpace + 1)
    if (fieldEnd < 0 || fieldEnd > lineEnd) fieldEnd = lineEnd
    let rank = Number.parseInt(text.slice(firstSpace + 1, fieldEnd), 10)
    for (at = fieldEnd; at < lineEnd;) {
      at++
      const tokenStart = at
      while (at < lineEnd && text.charCodeAt(at) !== SPACE && text.charCodeAt(at) !== NEWLINE) at++
      if (at === tokenStart) continue
      decodeBase64(text, tokenStart, at, bytes)
      const key = bytes.join(',')
      // A token listed again keeps its last rank only (the stock constructor's object keeps the last).
      const earlier = rankMap.get(key)
      if (earlier !== undefined) ranges[2 * earlier] = -1
      rankMap.set(key, rank)
      ranges[2 * rank] = used
      for (const b of bytes) pool[used++] = b
      ranges[2 * rank + 1] = used
      if (rank > maxRank) maxRank = rank
      rank++
    }
    at = lineEnd + 1
  }
  const bounds = new Int32Array(2 * (maxRank + 1)).fill(-1)
  for (let i = 0; i < bounds.length; i++) bounds[i] = ranges[i] ?? -1
  const bytesOf = pool.slice(0, used)
  return {
    rankMap,
    textMap: {
      get(rank: number): Uint8Array | undefined {
        if (!Number.isInteger(rank) || rank < 0 || rank > maxRank || (bounds[2 * rank] as number) < 0) return undefined
        return bytesOf.subarray(bounds[2 * rank], bounds[2 * rank + 1])
      },
    },
  }
}

/** The bytes of the base64 text between `from` and `to` into `out` (emptied first); stops at padding. */
function decodeBase64(text: string, from: number, to: number, out: number[]): void {
  out.length = 0
  let acc = 0
  let bits = 0
  for (let j = from; j < to; j++) {
    const code = text.charCodeAt(j)
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
