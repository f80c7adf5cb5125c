import type { Tiktoken, TiktokenBPE } from 'js-tiktoken/lite'
import { compactTiktoken } from './compactRanks.ts'
import { InputError } from '../errors.ts'

/** Encodings fluxperf can count with. `o200k_base` (GPT-4o family) is the default. */
export type EncodingName = 'o200k_base' | 'cl100k_base' | 'p50k_base' | 'r50k_base'

/** Counts and cuts text in tokens. */
export interface Tokenizer {
  readonly encoding: EncodingName
  encode(text: string): number[]
  decode(tokens: number[]): string
  count(text: string): number
  /**
   * Counts a long text in slices, yielding to the event loop between them, so timers, aborts and Ctrl-C
   * still run while a large answer is counted. Slices end at white space where there is some, so the
   * count equals {@link count}'s for natural text.
   */
  countLater(text: string): Promise<number>
  /** The text cut to at most `maxTokens` tokens (keeps the start). */
  truncate(text: string, maxTokens: number): string
}

const cache = new Map<EncodingName, Promise<Tokenizer>>()

const rankLoaders: Record<EncodingName, () => Promise<{ default: TiktokenBPE }>> = {
  o200k_base: () => import('js-tiktoken/ranks/o200k_base'),
  cl100k_base: () => import('js-tiktoken/ranks/cl100k_base'),
  p50k_base: () => import('js-tiktoken/ranks/p50k_base'),
  r50k_base: () => import('js-tiktoken/ranks/r50k_base'),
}

/** Whether `name` is an encoding fluxperf knows. */
export function isEncodingName(name: string): name is EncodingName {
  return Object.hasOwn(rankLoaders, name)
}

/**
 * Loads a tokenizer once per encoding (rank tables are large; loading is lazy and shared).
 * @param encoding default `o200k_base`
 * @returns a promise rejected with an InputError naming the known encodings when `encoding` is none of them
 */
export function getTokenizer(encoding: EncodingName = 'o200k_base'): Promise<Tokenizer> {
  if (!isEncodingName(encoding)) {
    const known = Object.keys(rankLoaders).join(', ')
    return Promise.reject(new InputError(`unknown encoding "${String(encoding)}"; expected one of ${known}`, 'tokenizer'))
  }
  let loaded = cache.get(encoding)
  if (!loaded) {
    loaded = rankLoaders[encoding]().then(({ default: ranks }) => makeTokenizer(encoding, compactTiktoken(ranks)))
    cache.set(encoding, loaded)
  }
  return loaded
}

/**
 * Longest run without white space encoded in one piece. BPE merging is quadratic in a piece's length
 * (js-tiktoken: a 10,000-character word took 9.6 s, 20,000 44 s, all on the event loop, so neither
 * --timeout nor Ctrl-C could fire). Longer runs are encoded in slices of this many characters: natural
 * text has no such runs, so its counts are exact; a pathological run's count may differ by a token per
 * slice. Measured: 1 MB in one run counts in ~2.5 s, 1 MB of words in ~0.25 s (request.ts caps an
 * answer's text, so no count takes longer than that).
 */
export const MAX_RUN = 32
const LONG_RUN = new RegExp(`\\S{${MAX_RUN + 1},}`, 'g')

function makeTokenizer(encoding: EncodingName, bpe: Tiktoken): Tokenizer {
  const encodeWhole = (text: string): number[] => bpe.encode(text, [], [])
  const encode = (text: string): number[] => {
    LONG_RUN.lastIndex = 0
    if (!LONG_RUN.test(text)) return encodeWhole(text)
    const tokens: number[] = []
    let from = 0
    LONG_RUN.lastIndex = 0
    for (let run = LONG_RUN.exec(text); run !== null; run = LONG_RUN.exec(text)) {
      if (run.index > from) pushAll(tokens, encodeWhole(text.slice(from, run.index)))
      const runEnd = run.index + run[0].length
      for (let at = run.index; at < runEnd;) {
        let cut = Math.min(at + MAX_RUN, runEnd)
        // Never between the two halves of a surrogate pair (an emoji): both go in one slice.
        if (cut < runEnd && (text.charCodeAt(cut) & 0xfc00) === 0xdc00) cut++
        pushAll(tokens, encodeWhole(text.slice(at, cut)))
        at = cut
      }
      from = run.index + run[0].length
    }
    if (from < text.length) pushAll(tokens, encodeWhole(text.slice(from)))
    return tokens
  }
  return {
    encoding,
    encode,
    decode: (tokens) => bpe.decode(tokens),
    count: (text) => (text.length === 0 ? 0 : encode(text).length),
    async countLater(text) {
      let total = 0
      for (let from = 0; from < text.length;) {
        const to = sliceEnd(text, from)
        total += encode(text.slice(from, to)).length
        from = to
        if (from < text.length) await new Promise<void>((resolve) => setImmediate(resolve))
      }
      return total
    },
    truncate(text, maxTokens) {
      const tokens = encode(text)
      return tokens.length <= maxTokens ? text : bpe.decode(tokens.slice(0, Math.max(0, maxTokens)))
    },
  }
}

function pushAll(into: number[], tokens: readonly number[]): void {
  for (const t of tokens) into.push(t)
}

/** Characters counted between two yields of countLater: a few milliseconds of natural text. */
const SLICE_CHARS = 16_384

/**
 * Where the slice starting at `from` ends: before a single space between two words (the space then opens
 * the next slice, as the encoder's pre-tokenizer attaches it to the word after it), else at SLICE_CHARS.
 */
function sliceEnd(text: string, from: number): number {
  const hard = Math.min(text.length, from + SLICE_CHARS)
  if (hard === text.length) return hard
  for (let at = hard; at > from + SLICE_CHARS / 2; at--) {
    if (text.charCodeAt(at) === 0x20 && /\S/.test(text.charAt(at - 1)) && /\S/.test(text.charAt(at + 1))) return at
  }
  return (text.charCodeAt(hard) & 0xfc00) === 0xdc00 ? hard + 1 : hard
}
