/**
 * The mock's generated text: deterministic per (session, request). Content opens with an echo tag,
 * `[mock session=<hash> req=<n>]`, so a test can check what the client sent; the rest is words drawn
 * from a PRNG seeded by the same pair, so the same request always gets the same text.
 *
 * Every token text is plain ASCII without quotes or backslashes, so chunk JSON can be built by
 * string concatenation without escaping (the hot path depends on it).
 */

import { type Random, createRandom } from '../random.ts'
import { hash32, shortHash } from './hash.ts'

// Short common words: each is a single token of the mock tokenizer (with its leading space).
const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but ' +
  'have an they you were her she there one all we their can has been if more when will would who ' +
  'so no model token cache prefix batch stream serve engine block decode prefill latency request ' +
  'queue time first warm cold reuse hit miss load user reply turn context memory kernel layer ' +
  'weight tensor value key query head scale rate step slot shard node core fast slow small large ' +
  'early late short long clear plain simple steady quick light heavy open close start end again ' +
  'still often never always about after before under over between through during without within ' +
  'river stone cloud field garden window market letter number answer question story'
).split(' ')

/** The tag the first content token carries: `[mock session=<8 hex> req=<n>]`. */
export function mockEchoTag(session: string, request: number): string {
  return `[mock session=${shortHash(session)} req=${request}]`
}

/** Yields the text of each generated token in order. */
export class OutputText {
  readonly #random: Random
  readonly #tag: string
  readonly #reasoningTokens: number
  #index = 0

  /**
   * @param reasoningTokens tokens before the answer that are reasoning (chat and Responses); the echo tag
   *   is the first answer token.
   */
  constructor(session: string, request: number, reasoningTokens: number) {
    this.#random = createRandom(hash32(`${session}\u0000${request}`))
    this.#tag = mockEchoTag(session, request)
    this.#reasoningTokens = reasoningTokens
  }

  /** Tokens generated so far. */
  get index(): number {
    return this.#index
  }

  /** Whether the next token is reasoning. */
  get inReasoning(): boolean {
    return this.#index < this.#reasoningTokens
  }

  /** The text of the next token. */
  next(): string {
    const i = this.#index++
    if (i === this.#reasoningTokens) return this.#tag
    const r = this.#random.next()
    // About one token in twelve is punctuation, the rest words.
    if (r < 0.06) return '.'
    if (r < 0.085) return ','
    return ' ' + WORDS[Math.floor(((r - 0.085) / 0.915) * WORDS.length)]!
  }

  /** The next `count` tokens (one engine step), with where reasoning and answer start and end. */
  step(count: number): OutputStep {
    const before = this.#index
    const r = this.#reasoningTokens
    let reasoning = ''
    let answer = ''
    for (let k = 0; k < count; k++) {
      if (this.#index < r) reasoning += this.next()
      else answer += this.next()
    }
    const after = this.#index
    const reasoningCount = Math.max(0, Math.min(after, r) - before)
    return {
      reasoning,
      answer,
      reasoningCount,
      answerCount: count - reasoningCount,
      reasoningStarts: before === 0 && reasoningCount > 0,
      reasoningEnds: before < r && after >= r,
      answerStarts: before <= r && after > r,
    }
  }
}

/** The tokens of one engine step: reasoning first, then answer. */
export interface OutputStep {
  reasoning: string
  answer: string
  reasoningCount: number
  answerCount: number
  /** The step holds the first reasoning token. */
  reasoningStarts: boolean
  /** The step holds the last reasoning token. */
  reasoningEnds: boolean
  /** The step holds the first answer token. */
  answerStarts: boolean
}
