import { createRandom, fmix32 } from '../random.ts'
import type { Random } from '../random.ts'
import type { Tokenizer } from '../tokens/index.ts'
import type { ChatMessage } from '../types.ts'
import { exactTokenText } from './syntheticText.ts'
import type { TraceEntry } from './trace.ts'

/** Tokens per hash id in Mooncake's traces (and AIPerf's default): the block size a trace was made with. */
export const DEFAULT_TRACE_BLOCK_SIZE = 512

/** Block texts kept by default: 8 Mi tokens' worth (about 45 MB at 512 tokens a block), at least 1,024. */
const CACHE_TOKENS = 8 * 1024 * 1024

/** Builds the prompt of each trace request. */
export interface TracePrompts {
  /** Tokens per hash id. */
  readonly blockSize: number
  /**
   * The messages to send for `entry`: its `messages` as they are, else one user message of exactly
   * `inputLength` tokens (by the tokenizer given) whose blocks follow its `hashIds`. The same entry always
   * gets the same text.
   */
  prompt(entry: TraceEntry): ChatMessage[]
}

export interface TracePromptOptions {
  /** Tokens per hash id: the block size the trace was made with (not the server's). Default 512. */
  blockSize?: number
  /** Seeds all the text: block texts and the requests' own text. A whole number. */
  seed: number
  /** Most block texts kept in memory (least recently used dropped; they are rebuilt identically). */
  maxCachedBlocks?: number
}

/**
 * Prompt synthesis for trace replay. A request with `hashIds` gets one user message made of one block of
 * exactly `blockSize` tokens per id — the text of a block a pure function of (`seed`, id) — cut to its
 * `inputLength` (the last block used may be partial) or followed by text of its own (seeded by its index)
 * up to `inputLength`. So requests that share `hashIds[0..k]` share exactly that prefix of text, as the
 * production requests shared it, and the server's prefix cache sees the same sharing. A request without
 * `hashIds` gets text of its own. The text is {@link exactTokenText}'s one-token words, so its length is
 * exact by construction, without counting; it is exact for `tokenizer` — the server's may count a few per cent
 * differently.
 * Design note: docs/design/traces.md.
 */
export function tracePrompts(tokenizer: Tokenizer, options: TracePromptOptions): TracePrompts {
  const blockSize = options.blockSize ?? DEFAULT_TRACE_BLOCK_SIZE
  const { seed } = options
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a whole number ≥ 1, got ${blockSize}`)
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a whole number, got ${seed}`)
  const capacity = options.maxCachedBlocks ?? Math.max(1024, Math.floor(CACHE_TOKENS / blockSize))
  if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`maxCachedBlocks must be a whole number ≥ 1, got ${capacity}`)

  const vocabulary = oneTokenWords(tokenizer)
  // Map order is the LRU order: a hit moves the id to the end, the first key is the one to drop.
  const blocks = new Map<number, string>()
  const block = (id: number): string => {
    let text = blocks.get(id)
    if (text !== undefined) {
      blocks.delete(id)
    } else {
      text = spaceLedWords(vocabulary, blockSize, createRandom(mixSeed(BLOCK, seed, id)))
      if (blocks.size >= capacity) blocks.delete(blocks.keys().next().value as number)
    }
    blocks.set(id, text)
    return text
  }

  return {
    blockSize,
    prompt(entry) {
      if (entry.messages) return entry.messages.map((m) => ({ role: m.role, content: m.content }))
      const length = entry.inputLength
      if (length === undefined || !Number.isSafeInteger(length) || length < 1) {
        throw new RangeError(`trace request ${entry.index} (line ${entry.line}) has no messages and no input length ≥ 1 (got ${length})`)
      }
      // Every piece opens with a space (a space-led word is one token), so pieces add up exactly.
      const pieces: string[] = []
      let tokens = 0
      for (const id of entry.hashIds ?? []) {
        if (tokens >= length) break
        const text = block(id)
        const need = length - tokens
        pieces.push(need >= blockSize ? text : firstWords(text, need))
        tokens += Math.min(need, blockSize)
      }
      if (tokens < length) pieces.push(spaceLedWords(vocabulary, length - tokens, createRandom(mixSeed(OWN, seed, entry.index))))
      // The prompt itself does not open with a space: a word alone is one token too.
      return [{ role: 'user', content: pieces.join('').slice(1) }]
    },
  }
}

/**
 * The share of all prompt tokens a perfect prefix cache (unbounded, at `blockSize` granularity, keyed by the
 * chain of ids as Mooncake's are) would serve, sending `entries` in timestamp order: for each request, the
 * leading blocks whose chain `hashIds[0..i]` an earlier request already sent — as many of their tokens as
 * were sent, so a block an earlier request only partly sent counts that part and ends the run — capped at
 * its `inputLength`. Requests without `inputLength` (only `messages`) are left out. 0 for no tokens.
 */
export function impliedPrefixShare(entries: readonly TraceEntry[], blockSize: number = DEFAULT_TRACE_BLOCK_SIZE): number {
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a whole number ≥ 1, got ${blockSize}`)
  const ordered = entries.slice().sort((a, b) => a.timestampMs - b.timestampMs)
  // A trie of id chains: the node reached by ids[0..i] stands for that prefix; `tokens` is how much of
  // its block has been sent so far.
  interface Node { tokens: number; next: Map<number, Node> | undefined }
  const root: Node = { tokens: 0, next: undefined }
  let total = 0
  let served = 0
  for (const entry of ordered) {
    const length = entry.inputLength
    if (length === undefined) continue
    total += length
    let node = root
    let cached = true
    const ids = entry.hashIds ?? []
    for (let i = 0; i < ids.length && i * blockSize < length; i++) {
      const id = ids[i] as number
      const size = Math.min(blockSize, length - i * blockSize)
      node.next ??= new Map()
      let child = node.next.get(id)
      if (child === undefined) {
        child = { tokens: 0, next: undefined }
        node.next.set(id, child)
      }
      if (cached) {
        const hit = Math.min(child.tokens, size)
        served += hit
        cached = hit === size
      }
      child.tokens = Math.max(child.tokens, size)
      node = child
    }
  }
  return total === 0 ? 0 : served / total
}

const vocabularies = new WeakMap<Tokenizer, readonly string[]>()

/**
 * The one-token words of {@link exactTokenText} for `tokenizer`: each is one token alone and after a space,
 * and the tokenizers split text into pieces at a space before a word, so `n` of them joined by spaces are
 * exactly `n` tokens (checked here once). Text is then built without counting: the tokenizer takes about
 * a microsecond a token, which for a trace of long prompts would be seconds of the event loop.
 */
function oneTokenWords(tokenizer: Tokenizer): readonly string[] {
  let words = vocabularies.get(tokenizer)
  if (!words) {
    // 4,096 draws from a list of about 150 words: every word is drawn (one is missed with chance below e^-27).
    words = [...new Set(exactTokenText(tokenizer, 4096, createRandom(0x776f7264)).split(' '))].sort()
    const text = words.join(' ')
    if (tokenizer.count(text) !== words.length || tokenizer.count(` ${text}`) !== words.length) {
      throw new Error(`the ${tokenizer.encoding} tokenizer merges words: trace prompts cannot be built token-exact`)
    }
    vocabularies.set(tokenizer, words)
  }
  return words
}

/** `count` seeded words, each after a space: exactly `count` tokens, and as many more after other such text. */
function spaceLedWords(words: readonly string[], count: number, random: Random): string {
  const picked = new Array<string>(count + 1)
  picked[0] = ''
  for (let i = 1; i <= count; i++) picked[i] = words[random.int(words.length)] as string
  return picked.join(' ')
}

/** The first `count` words (tokens) of space-led text. */
function firstWords(text: string, count: number): string {
  let end = 0
  for (let i = 0; i < count && end !== -1; i++) end = text.indexOf(' ', end + 1)
  return end === -1 ? text : text.slice(0, end)
}

const BLOCK = 0x626c6b // 'blk'
const OWN = 0x6f776e // 'own'

/**
 * A 32-bit seed from a stream name, the run's seed and a number (ids and seeds up to 2^53). Each step is
 * a bijection of the part mixed in, so for one seed distinct numbers below 2^32 get distinct seeds.
 */
function mixSeed(stream: number, seed: number, n: number): number {
  let h = stream
  for (const part of [seed, n]) {
    h = fmix32(((h + 0x9e3779b9) ^ part) >>> 0)
    h = fmix32(((h + 0x9e3779b9) ^ Math.floor(part / 4294967296)) >>> 0)
  }
  return h
}

