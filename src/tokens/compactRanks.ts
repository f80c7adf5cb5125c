import { Tiktoken } from 'js-tiktoken/lite'
import type { TiktokenBPE } from 'js-tiktoken/lite'

/**
 * js-tiktoken's encoder with its rank tables built compactly. The stock constructor decodes every rank
 * through an object of 200,000 base64 keys and keeps a Map of 200,000 strings and one Uint8Array per rank:
 * for o200k_base that is 75 MB of heap kept and about 220 MB of RSS once built, most of a `fluxperf run`
 * process's memory. Here the ranks are read in one pass into typed arrays (about 9 MB, none of it on the
 * heap, which V8 would let grow to several times what is live), built in 100-120 ms instead of 423, and
 * text counts 7-10 % faster (docs/performance.md § "The tokenizer's tables").
 *
 * Encoding and decoding stay js-tiktoken's own code; only its two tables are filled differently, with the
 * same contents: `rankMap` (the bytes of a token, comma-joined, to its rank, answered as its Map would;
 * a token listed twice keeps its last rank, as the stock constructor's object does) and `textMap` (a
 * rank to its bytes; only get() is used, by decode). Both are internal fields, so test/tokens/compactRanks.test.ts compares every
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
  rankMap: { get(key: string): number | undefined; readonly size: number }
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
 * token, into typed arrays: no string is kept.
 */
function readRanks(text: string): InternalTables {
  // Every token follows a space: their count bounds the entries.
  let spaces = 0
  for (let i = text.indexOf(' '); i >= 0; i = text.indexOf(' ', i + 1)) spaces++
  const table = new RankTable(spaces, Math.ceil(text.length * 3 / 4))
  const ranges: number[] = []
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
      // A token listed again keeps its last rank only (the stock constructor's object keeps the last).
      const { start, end, replaced } = table.set(bytes, rank)
      if (replaced !== undefined) ranges[2 * replaced] = -1
      ranges[2 * rank] = start
      ranges[2 * rank + 1] = end
      if (rank > maxRank) maxRank = rank
      rank++
    }
    at = lineEnd + 1
  }
  const bounds = new Int32Array(2 * (maxRank + 1)).fill(-1)
  for (let i = 0; i < bounds.length; i++) bounds[i] = ranges[i] ?? -1
  const bytesOf = table.bytes
  return {
    rankMap: table,
    textMap: {
      get(rank: number): Uint8Array | undefined {
        if (!Number.isInteger(rank) || rank < 0 || rank > maxRank || (bounds[2 * rank] as number) < 0) return undefined
        return bytesOf.subarray(bounds[2 * rank], bounds[2 * rank + 1])
      },
    },
  }
}

/**
 * Token bytes to rank, in typed arrays (open addressing, linear probing), answering js-tiktoken's
 * `rankMap.get(bytes.join(","))` as its Map would: any string that is not such a join of a token's bytes
 * (an empty string, a leading zero, a number over 255, a stray comma) is no key. A Map of 200,000
 * comma-joined strings kept 16 MB on the heap, which V8 lets grow to several times that through a run
 * (docs/performance.md, "The tokenizer's tables").
 */
class RankTable {
  /** Every token's bytes, back to back. */
  readonly bytes: Uint8Array
  /** Entry e is bytes [starts[e], ends[e]) with rank ranks[e]. */
  private readonly starts: Int32Array
  private readonly ends: Int32Array
  private readonly ranks: Float64Array
  /** Entry + 1 per slot; 0 is empty. */
  private readonly slots: Int32Array
  private readonly mask: number
  private used = 0
  private entries = 0
  private longest = 0
  /** A key's bytes as get() reads them. */
  private scratch = new Uint8Array(0)
  size = 0

  constructor(maxEntries: number, maxBytes: number) {
    this.bytes = new Uint8Array(maxBytes)
    this.starts = new Int32Array(maxEntries)
    this.ends = new Int32Array(maxEntries)
    this.ranks = new Float64Array(maxEntries)
    let capacity = 1024
    while (capacity < maxEntries * 2) capacity *= 2
    this.slots = new Int32Array(capacity)
    this.mask = capacity - 1
  }

  /** Adds a token; the rank of an equal token already there is `replaced`. */
  set(token: readonly number[], rank: number): { start: number; end: number; replaced: number | undefined } {
    const start = this.used
    for (const b of token) this.bytes[this.used++] = b
    const end = this.used
    const e = this.entries++
    this.starts[e] = start
    this.ends[e] = end
    this.ranks[e] = rank
    if (token.length > this.longest) this.longest = token.length
    const slot = this.find(this.bytes, start, end)
    const held = this.slots[slot] as number
    let replaced: number | undefined
    if (held === 0) this.size++
    else replaced = this.ranks[held - 1]
    this.slots[slot] = e + 1
    return { start, end, replaced }
  }

  get(key: string): number | undefined {
    if (key.length === 0) return undefined
    // Parse "b,b,b": each b a byte in decimal without leading zeros.
    if (this.scratch.length < this.longest) this.scratch = new Uint8Array(this.longest)
    const scratch = this.scratch
    let n = 0
    let value = 0
    let digits = 0
    for (let i = 0; i <= key.length; i++) {
      const c = i < key.length ? key.charCodeAt(i) : 0x2c
      if (c === 0x2c) {
        if (digits === 0 || n >= this.longest) return undefined
        scratch[n++] = value
        value = 0
        digits = 0
      } else {
        const d = c - 0x30
        if (d < 0 || d > 9 || (digits === 1 && value === 0)) return undefined
        value = value * 10 + d
        digits++
        if (value > 255) return undefined
      }
    }
    const held = this.slots[this.find(scratch, 0, n)] as number
    return held === 0 ? undefined : this.ranks[held - 1]
  }

  /** The slot holding the token `source[from, to)`, or the empty slot where it would go. */
  private find(source: Uint8Array, from: number, to: number): number {
    // FNV-1a over the bytes.
    let h = 0x811c9dc5
    for (let i = from; i < to; i++) h = Math.imul(h ^ (source[i] as number), 0x01000193)
    const length = to - from
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const held = this.slots[slot] as number
      if (held === 0) return slot
      const start = this.starts[held - 1] as number
      if ((this.ends[held - 1] as number) - start !== length) continue
      let same = true
      for (let i = 0; i < length; i++) {
        if (this.bytes[start + i] !== source[from + i]) {
          same = false
          break
        }
      }
      if (same) return slot
    }
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
