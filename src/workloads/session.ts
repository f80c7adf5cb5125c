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
  /** Tokens in the messages sent (tokenizer count of their contents). */
  contextTokens: number
  /** Earlier turns dropped to fit `maxContextTokens`. */
  truncatedTurns: number
}

/**
 * The history of one conversation: the user's turns and the model's real replies.
 * Shared by every workload, so truncation behaves the same everywhere.
 */
export class Session {
  readonly id: string
  private readonly system: string | undefined
  private readonly turns: { user: string; assistant: string }[] = []
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
    const count = (text: string): number => this.tokenizer.count(text)
    const fixed = (this.system ? count(this.system) : 0) + count(user)
    const turnTokens = this.turns.map((t) => count(t.user) + count(t.assistant))
    let total = fixed + turnTokens.reduce((a, b) => a + b, 0)
    let first = 0
    if (maxContextTokens !== undefined) {
      while (first < this.turns.length && total > maxContextTokens) total -= turnTokens[first++] as number
    }
    const messages: ChatMessage[] = []
    if (this.system) messages.push({ role: 'system', content: this.system })
    for (const t of this.turns.slice(first)) {
      messages.push({ role: 'user', content: t.user }, { role: 'assistant', content: t.assistant })
    }
    messages.push({ role: 'user', content: user })
    this.pending = user
    return { messages, contextTokens: total, truncatedTurns: first }
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
