import type { ChatMessage } from '../types.ts'

/** Which OpenAI-compatible API an endpoint speaks. */
export type ApiKind = 'chat' | 'completions'

/** Generation settings sent with every request. */
export interface GenerationOptions {
  model: string
  /** Sent as `max_tokens` (and `max_completion_tokens` for chat). Omitted when undefined. */
  maxTokens?: number
  temperature?: number
  topP?: number
  /** Stream with SSE. @default true */
  stream?: boolean
  /**
   * Ask for `usage` on every chunk (vLLM's `stream_options.continuous_usage_stats`), so a chunk that
   * carries several tokens is known and ITL is not inflated. Servers that do not know it ignore it.
   * @default true
   */
  continuousUsageStats?: boolean
  /** Ask the server to ignore EOS so every request generates exactly `maxTokens` (vLLM `ignore_eos`). */
  ignoreEos?: boolean
}

/** The API kind of an endpoint URL, from its path. */
export function apiKindOf(url: string): ApiKind {
  return /\/completions\/?$/.test(url) && !/\/chat\/completions\/?$/.test(url) ? 'completions' : 'chat'
}

/** Renders a conversation as one prompt for the completions API. */
export function renderPrompt(messages: readonly ChatMessage[]): string {
  if (messages.length === 1 && messages[0]?.role === 'user') return messages[0].content
  return messages.map((m) => `${m.role === 'user' ? 'User' : m.role === 'assistant' ? 'Assistant' : 'System'}: ${m.content}`).join('\n\n') + '\n\nAssistant:'
}

/** The JSON body of one request. */
export function buildPayload(kind: ApiKind, messages: readonly ChatMessage[], options: GenerationOptions): string {
  const stream = options.stream ?? true
  const body: Record<string, unknown> = { model: options.model }
  if (kind === 'chat') body['messages'] = messages
  else body['prompt'] = renderPrompt(messages)
  if (options.maxTokens !== undefined) {
    body['max_tokens'] = options.maxTokens
    if (kind === 'chat') body['max_completion_tokens'] = options.maxTokens
  }
  if (options.temperature !== undefined) body['temperature'] = options.temperature
  if (options.topP !== undefined) body['top_p'] = options.topP
  if (options.ignoreEos) body['ignore_eos'] = true
  body['stream'] = stream
  if (stream) {
    body['stream_options'] = options.continuousUsageStats === false
      ? { include_usage: true }
      : { include_usage: true, continuous_usage_stats: true }
  }
  return JSON.stringify(body)
}

/** What one decoded chunk (or a whole non-streamed response) contributes. */
export interface ChunkInfo {
  /** Generated text of this chunk (content, reasoning, or completion text). */
  text: string
  /** The chunk carries generated content (text, reasoning or tool-call deltas); role-only chunks do not. */
  hasContent: boolean
  finishReason: string | null
  promptTokens: number | null
  completionTokens: number | null
  cachedTokens: number | null
  /** llama.cpp: prompt tokens actually evaluated (`timings.prompt_n`). */
  promptEvaluated: number | null
  /** An `error` object sent inside the stream (vLLM does this on failures mid-stream). */
  errorMessage: string | null
}

/**
 * Decodes an OpenAI chunk (`chat.completion.chunk` / `text_completion`) or a non-streamed response,
 * of any shape, with JSON.parse. (The streaming client reads the common content-only chunk from its
 * bytes first: fastChunk.ts.) Throws SyntaxError on invalid JSON; the caller decides what that means.
 */
export function decodeChunk(json: string): ChunkInfo {
  const obj = JSON.parse(json) as Record<string, unknown>
  let text = ''
  let hasContent = false
  let finishReason: string | null = null
  const choices = obj['choices']
  if (Array.isArray(choices) && choices.length > 0) {
    const choice = choices[0] as Record<string, unknown>
    const delta = (choice['delta'] ?? choice['message']) as Record<string, unknown> | undefined
    if (delta && typeof delta === 'object') {
      const content = delta['content']
      const reasoning = delta['reasoning_content'] ?? delta['reasoning']
      if (typeof content === 'string' && content.length > 0) text += content
      if (typeof reasoning === 'string' && reasoning.length > 0) text += reasoning
      const toolCalls = delta['tool_calls']
      if (text.length > 0 || (Array.isArray(toolCalls) && toolCalls.length > 0)) hasContent = true
    }
    const completionText = choice['text']
    if (typeof completionText === 'string' && completionText.length > 0) {
      text += completionText
      hasContent = true
    }
    const fr = choice['finish_reason']
    if (typeof fr === 'string') finishReason = fr
  }
  let promptTokens: number | null = null
  let completionTokens: number | null = null
  let cachedTokens: number | null = null
  const usage = obj['usage'] as Record<string, unknown> | null | undefined
  if (usage && typeof usage === 'object') {
    promptTokens = numberOrNull(usage['prompt_tokens'])
    completionTokens = numberOrNull(usage['completion_tokens'])
    const details = usage['prompt_tokens_details'] as Record<string, unknown> | null | undefined
    if (details && typeof details === 'object') cachedTokens = numberOrNull(details['cached_tokens'])
  }
  const timings = obj['timings'] as Record<string, unknown> | undefined
  const promptEvaluated = timings && typeof timings === 'object' ? numberOrNull(timings['prompt_n']) : null
  const error = obj['error'] as Record<string, unknown> | string | undefined
  const errorMessage = error === undefined ? null
    : typeof error === 'string' ? error
    : String((error as Record<string, unknown>)['message'] ?? JSON.stringify(error))
  return { text, hasContent, finishReason, promptTokens, completionTokens, cachedTokens, promptEvaluated, errorMessage }
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}
