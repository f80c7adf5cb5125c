/**
 * Reads an OpenAI chat or completions request body into what the engine needs, or a 400 with an
 * OpenAI-style message. Chat prompts are rendered through the mock's template (a role token, the
 * content's tokens, an end token per message, then the assistant's role token), so a follow-up turn
 * that repeats the conversation shares the previous turn's prefix, assistant reply included.
 */

import type { ApiRoute } from './chunks.ts'
import { SPECIAL_TOKENS, tokenizeInto } from './tokenizer.ts'

export interface GenerationRequest {
  endpoint: ApiRoute
  promptTokens: number[]
  maxTokens: number
  /** Whether the client set the limit (finish reason `length`) or the default applied (`stop`). */
  maxTokensGiven: boolean
  stream: boolean
  includeUsage: boolean
  continuousUsage: boolean
  /** Who is talking: `x-session-id`, else the `user` field, else the first user message (or prompt). */
  session: string
  /** The request within the session: the number of user messages (1 for completions). */
  turn: number
  /** The model the client asked for, echoed in responses. */
  model: string | undefined
}

/** A request the mock refuses (400). */
export class RequestError extends Error {
  readonly status: number
  readonly param: string | null
  constructor(message: string, param: string | null = null, status = 400) {
    super(message)
    this.status = status
    this.param = param
  }
}

export interface RequestLimits {
  maxModelLen: number
  defaultMaxTokens: number
}

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Parses and validates a generation request; throws `RequestError`. */
export function parseGenerationRequest(
  endpoint: ApiRoute,
  bodyText: string,
  sessionHeader: string | undefined,
  limits: RequestLimits,
): GenerationRequest {
  let body: unknown
  try {
    body = JSON.parse(bodyText)
  } catch (error) {
    throw new RequestError(`Invalid JSON in request body: ${(error as Error).message}`)
  }
  if (!isObject(body)) throw new RequestError('The request body must be a JSON object')

  const { tokens, firstText, turn } = endpoint === 'chat' ? renderChat(body.messages) : renderPrompt(body.prompt)
  const user = typeof body.user === 'string' && body.user !== '' ? body.user : undefined
  const session = sessionHeader !== undefined && sessionHeader !== '' ? sessionHeader : (user ?? firstText)

  const stream = optionalBoolean(body, 'stream') ?? false
  let includeUsage = false
  let continuousUsage = false
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!isObject(body.stream_options)) throw new RequestError('stream_options must be an object', 'stream_options')
    includeUsage = optionalBoolean(body.stream_options, 'include_usage', 'stream_options.') ?? false
    continuousUsage = optionalBoolean(body.stream_options, 'continuous_usage_stats', 'stream_options.') ?? false
  }

  const requested = maxTokensOf(body)
  const prompt = tokens.length
  let maxTokens = requested ?? Math.min(limits.defaultMaxTokens, limits.maxModelLen - prompt)
  if (requested === undefined && maxTokens < 1) maxTokens = limits.defaultMaxTokens
  if (prompt + maxTokens > limits.maxModelLen) {
    throw new RequestError(
      `This model's maximum context length is ${limits.maxModelLen} tokens. However, you requested ` +
        `${prompt + maxTokens} tokens (${prompt} in the messages, ${maxTokens} in the completion). ` +
        'Please reduce the length of the messages or completion.',
      endpoint === 'chat' ? 'messages' : 'prompt',
    )
  }

  return {
    endpoint,
    promptTokens: tokens,
    maxTokens,
    maxTokensGiven: requested !== undefined,
    stream,
    includeUsage,
    continuousUsage,
    session,
    turn,
    model: typeof body.model === 'string' && body.model !== '' ? body.model : undefined,
  }
}

function optionalBoolean(body: Json, key: string, prefix = ''): boolean | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') throw new RequestError(`${prefix}${key} must be a boolean`, prefix + key)
  return value
}

function maxTokensOf(body: Json): number | undefined {
  for (const key of ['max_completion_tokens', 'max_tokens']) {
    const value = body[key]
    if (value === undefined || value === null) continue
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RequestError(`${key} must be an integer >= 1, got ${JSON.stringify(value)}`, key)
    }
    return value
  }
  return undefined
}

const ROLE_TOKENS: Record<string, number> = {
  system: SPECIAL_TOKENS.system,
  user: SPECIAL_TOKENS.user,
  assistant: SPECIAL_TOKENS.assistant,
  tool: SPECIAL_TOKENS.tool,
  developer: SPECIAL_TOKENS.developer,
}

interface Rendered {
  tokens: number[]
  firstText: string
  turn: number
}

function renderChat(messages: unknown): Rendered {
  if (messages === undefined || messages === null) throw new RequestError('Field required: messages', 'messages')
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new RequestError('messages must be a non-empty array', 'messages')
  }
  const tokens: number[] = []
  let firstUser: string | undefined
  let turn = 0
  messages.forEach((message: unknown, i) => {
    const where = `messages[${i}]`
    if (!isObject(message) || typeof message.role !== 'string') {
      throw new RequestError(`${where} must be an object with a string role`, where)
    }
    const content = contentText(message.content, `${where}.content`)
    tokens.push(ROLE_TOKENS[message.role] ?? SPECIAL_TOKENS.other)
    tokenizeInto(content, tokens)
    tokens.push(SPECIAL_TOKENS.end)
    if (message.role === 'user') {
      turn++
      firstUser ??= content
    }
  })
  // The generation prompt: the same token that opens an assistant message in the next turn.
  tokens.push(SPECIAL_TOKENS.assistant)
  return { tokens, firstText: firstUser ?? '', turn: Math.max(1, turn) }
}

/** A message's text: a string, null (assistant tool calls), or an array of parts whose text parts count. */
function contentText(content: unknown, where: string): string {
  if (content === undefined || content === null) return ''
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    let text = ''
    for (const part of content) {
      if (isObject(part) && part.type === 'text' && typeof part.text === 'string') text += part.text
    }
    return text
  }
  throw new RequestError(`${where} must be a string or an array of content parts`, where)
}

function renderPrompt(prompt: unknown): Rendered {
  if (prompt === undefined || prompt === null) throw new RequestError('Field required: prompt', 'prompt')
  let single = prompt
  if (Array.isArray(prompt) && prompt.length > 0 && typeof prompt[0] !== 'number') {
    if (prompt.length > 1) throw new RequestError('Batched prompts are not supported by the mock', 'prompt')
    single = prompt[0]
  }
  if (typeof single === 'string') {
    if (single === '') throw new RequestError('prompt must not be empty', 'prompt')
    return { tokens: tokenizeInto(single, []), firstText: single, turn: 1 }
  }
  if (Array.isArray(single) && single.length > 0 && single.every((t) => Number.isInteger(t) && t >= 0)) {
    // Token ids are used as they are: they are tokens already.
    const tokens = single as number[]
    return { tokens: tokens.slice(), firstText: tokens.join(' '), turn: 1 }
  }
  throw new RequestError('prompt must be a non-empty string or an array of token ids', 'prompt')
}
