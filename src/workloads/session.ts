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
    const count = (text: string): number => this.tokenizer.count(text)
    const turnTokens = (t: Turn): number => (t.tokens ??= count(t.user) + count(t.assistant))
    const system = this.system
    const history = this.turns.slice()
    let first = 0
    let total: number | undefined
    const countContext = (): number => history.slice(first).reduce((n, t) => n + turnTokens(t), (system ? count(system) : 0) + count(user))
    if (maxContextTokens !== undefined) {
      total = countContext()
      while (first < history.length && total > maxContextTokens) total -= turnTokens(history[first++] as Turn)
    }
    const messages: ChatMessage[] = []
    if (system) messages.push({ role: 'system', content: system })
    for (const t of history.slice(first)) {
      messages.push({ role: 'user', content: t.user }, { role: 'assistant', content: t.assistant })
    }
    messages.push({ role: 'user', content: user })
    this.pending = user
    return {
      messages,
      truncatedTurns: first,
      get contextTokens(): number {
        return (total ??= countContext())
      },
    }
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
