import type { Tokenizer } from '../tokens/index.ts'
import type { ChatMessage } from '../types.ts'

/** Limits applied when a conversation's next request is built. */
export interface ContextLimits {
  /** Drop the oldest (user, assistant) turns while the context exceeds this many tokens. */
  maxContextTokens?: number
  /** Cut each user message to at most this many tokens. */
  maxInputTokens?: number
}

/** A request ready to send, with what the truncation did. */
export interface BuiltRequest {
  messages: ChatMessage[]
  /**
   * Tokens in the messages sent (tokenizer count of their contents). Counted when first read unless
   * `maxContextTokens` needed it: js-tiktoken takes 10–150 µs per short message, and a round that
   * counted every prompt as it dispatched sent 1,000 requests in 100–225 ms instead of 30–50,
   * so the first answers arrived while the client was still busy.
   */
  readonly contextTokens: number
  /** Earlier turns dropped to fit `maxContextTokens`. */
  truncatedTurns: number
}

/** A completed turn; `tokens` (user + assistant) is counted the first time a request needs it. */
interface Turn {
  user: string
  assistant: string
  tokens?: number
}

/**
 * The history of one conversation: the user's turns and the model's real replies.
 * Shared by every workload, so truncation behaves the same everywhere.
 */
export class Session {
  readonly id: string
  private readonly system: string | undefined
  private readonly turns: Turn[] = []
  /** The user message of the request built last, until its reply arrives. */
  private pending: string | undefined
  private readonly tokenizer: Tokenizer
  private readonly limits: ContextLimits

  constructor(id: string, tokenizer: Tokenizer, limits: ContextLimits = {}, system?: string) {
    this.id = id
    this.tokenizer = tokenizer
    this.limits = limits
    this.system = system
  }

  /** Number of completed turns in the history. */
  get length(): number {
    return this.turns.length
  }

  /**
   * Builds the next request: system prompt, the history that fits, then `userMessage`.
   * The oldest turns go first; the new message is always kept.
   */
  next(userMessage: string): BuiltRequest {
    const { maxContextTokens, maxInputTokens } = this.limits
    const user = maxInputTokens !== undefined ? this.tokenizer.truncate(userMessage, maxInputTokens) : userMessage
    const turns = this.turns
    let first = 0
    let total: number | undefined
    if (maxContextTokens !== undefined) {
      total = countContext(this.tokenizer, this.system, turns, user, 0, turns.length)
      while (first < turns.length && total > maxContextTokens) total -= turnTokens(this.tokenizer, turns[first++] as Turn)
    }
    const messages: ChatMessage[] = []
    if (this.system) messages.push({ role: 'system', content: this.system })
    for (let i = first; i < turns.length; i++) {
      const t = turns[i] as Turn
      messages.push({ role: 'user', content: t.user }, { role: 'assistant', content: t.assistant })
    }
    messages.push({ role: 'user', content: user })
    this.pending = user
    return new Built(messages, first, total, this.tokenizer, this.system, turns, user)
  }

  /**
   * Completes the turn built last with the model's real reply. A failed turn is not recorded
   * (call nothing), so the history keeps alternating user/assistant as chat templates require.
   */
  reply(text: string): void {
    if (this.pending === undefined) return
    this.turns.push({ user: this.pending, assistant: text })
    this.pending = undefined
  }
}

/**
 * Tokens of the system prompt, `user` and `turns` from `first` to `end` (not included). A session only ever
 * appends turns, so a request built earlier counts the history it was sent with by its end index.
 */
function countContext(tokenizer: Tokenizer, system: string | undefined, turns: readonly Turn[], user: string, first: number, end: number): number {
  let n = (system ? tokenizer.count(system) : 0) + tokenizer.count(user)
  for (let i = first; i < end; i++) n += turnTokens(tokenizer, turns[i] as Turn)
  return n
}

/** A history turn's tokens, counted once however many requests carry it. */
function turnTokens(tokenizer: Tokenizer, t: Turn): number {
  return (t.tokens ??= tokenizer.count(t.user) + tokenizer.count(t.assistant))
}

/**
 * A built request. A class with the count as a getter rather than an object with a closure: round 1 of a
 * dual round builds one per request, and the closures (with a copy of the history) cost 1.1–1.4 µs a request
 * there (docs/performance.md, 2026-12-07, morning).
 */
class Built implements BuiltRequest {
  messages: ChatMessage[]
  truncatedTurns: number
  private total: number | undefined
  private readonly tokenizer: Tokenizer
  private readonly system: string | undefined
  private readonly turns: readonly Turn[]
  private readonly user: string
  /** The turns sent: `first` (what truncation dropped before it) to `end`, read apart from the public fields. */
  private readonly first: number
  private readonly end: number

  constructor(messages: ChatMessage[], truncatedTurns: number, total: number | undefined, tokenizer: Tokenizer, system: string | undefined, turns: readonly Turn[], user: string) {
    this.messages = messages
    this.truncatedTurns = truncatedTurns
    this.total = total
    this.tokenizer = tokenizer
    this.system = system
    this.turns = turns
    this.user = user
    this.first = truncatedTurns
    this.end = turns.length
  }

  get contextTokens(): number {
    return (this.total ??= countContext(this.tokenizer, this.system, this.turns, this.user, this.first, this.end))
  }
}
