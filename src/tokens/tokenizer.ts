import { Tiktoken } from 'js-tiktoken/lite'
import type { TiktokenBPE } from 'js-tiktoken/lite'

/** Encodings fluxperf can count with. `o200k_base` (GPT-4o family) is the default. */
export type EncodingName = 'o200k_base' | 'cl100k_base' | 'p50k_base' | 'r50k_base'

/** Counts and cuts text in tokens. */
export interface Tokenizer {
  readonly encoding: EncodingName
  encode(text: string): number[]
  decode(tokens: number[]): string
  count(text: string): number
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
 */
export function getTokenizer(encoding: EncodingName = 'o200k_base'): Promise<Tokenizer> {
  let loaded = cache.get(encoding)
  if (!loaded) {
    loaded = rankLoaders[encoding]().then(({ default: ranks }) => makeTokenizer(encoding, new Tiktoken(ranks)))
    cache.set(encoding, loaded)
  }
  return loaded
}

function makeTokenizer(encoding: EncodingName, bpe: Tiktoken): Tokenizer {
  const encode = (text: string): number[] => bpe.encode(text, [], [])
  return {
    encoding,
    encode,
    decode: (tokens) => bpe.decode(tokens),
    count: (text) => (text.length === 0 ? 0 : encode(text).length),
    truncate(text, maxTokens) {
      const tokens = encode(text)
      return tokens.length <= maxTokens ? text : bpe.decode(tokens.slice(0, Math.max(0, maxTokens)))
    },
  }
}
