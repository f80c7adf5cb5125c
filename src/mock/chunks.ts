/**
 * OpenAI wire shapes of chat and completions, as vLLM sends them (the Responses API's are in responses.ts).
 * Stream chunks are built from strings prepared once per stream (id, created, model are fixed), so each
 * chunk costs a few concatenations rather than a JSON.stringify of a fresh object. Generated text never
 * needs escaping (see output.ts).
 *
 * Chat deltas follow vLLM's DeltaMessage (vllm/entrypoints/openai/engine/protocol.py; newer vLLM moved it
 * to generate/base/protocol.py and spells the reasoning field `reasoning`) and DeltaToolCall: a tool call
 * opens with `{index, id, type, function: {name, arguments: ""}}` and goes on with `{index, function:
 * {arguments}}` fragments; ids are vLLM's `chatcmpl-tool-…`.
 */

import type { OutputStep } from './output.ts'

export type ApiRoute = 'chat' | 'completion' | 'responses'

/**
 * How a chat answer carries reasoning: `reasoning_content` (vLLM's reasoning parsers, DeepSeek's API),
 * `reasoning` (the newer vLLM spelling of the same delta field) or `tags` (inside `content` between
 * `<think>` and `</think>`, as a server without a reasoning parser streams DeepSeek-R1).
 */
export type ReasoningField = 'reasoning_content' | 'reasoning' | 'tags'

export const REASONING_FIELDS: readonly ReasoningField[] = ['reasoning_content', 'reasoning', 'tags']

export interface Usage {
  promptTokens: number
  completionTokens: number
  cachedTokens: number
  /** `completion_tokens_details.reasoning_tokens`; undefined leaves the details out. */
  reasoningTokens?: number
}

export const DONE_EVENT = 'data: [DONE]\n\n'

export const JSON_HEADERS: Record<string, string> = { 'content-type': 'application/json' }

/**
 * `tags`: the opening tag comes with the first reasoning token and the closing tag with the last one, so
 * the token count stays that of the reasoning (a limit that ends the answer inside the reasoning leaves the
 * tag open, as a truncated model would).
 */
export const THINK_OPEN = '<think>'
export const THINK_CLOSE = '</think>'

/** A step's reasoning as tagged content. */
export function thinkText(step: OutputStep): string {
  if (step.reasoningCount === 0) return ''
  return (step.reasoningStarts ? THINK_OPEN : '') + step.reasoning + (step.reasoningEnds ? THINK_CLOSE : '')
}

/**
 * A tool call's arguments: `{"q":"<the answer tokens>"}`. The opening comes with the first answer token and
 * the closing with the last, so the fragments concatenate to valid JSON (the generated text needs no
 * escaping) and the answer keeps its token count. `_WIRE` are the same inside a JSON string.
 */
export const ARGS_OPEN = '{"q":"'
export const ARGS_CLOSE = '"}'
export const ARGS_OPEN_WIRE = '{\\"q\\":\\"'
export const ARGS_CLOSE_WIRE = '\\"}'

/** What `Generation` writes through, whatever the route. Every method returns SSE text. */
export interface StreamEncoder {
  /** When the stream opens, before any token (the Responses API's created and in-progress events). */
  open(): string
  /** The tokens of one engine step; `generated` counts them; `done` on the last step. */
  step(step: OutputStep, generated: number, done: boolean): string
  /** After the last step: usage, and the terminal event unless `terminal` is false (the no-done fault). */
  finish(usage: Usage, terminal: boolean): string
  /** An event whose JSON is cut short (the malformed-after fault). */
  malformed(): string
  /** SSE events built since the last call (the `chunks` counter). */
  takeEvents(): number
}

export interface ChunkFormatInit {
  endpoint: 'chat' | 'completion'
  id: string
  created: number
  model: string
  promptTokens: number
  includeUsage: boolean
  continuousUsage: boolean
  /** The finish reason of the last chunk. */
  finishReason: string
  reasoningField: ReasoningField
  /** Reasoning tokens of the answer, for `completion_tokens_details` in continuous usage (0: none). */
  reasoningTokens: number
  /** The answer is this tool call (chat). */
  toolCall?: { id: string; name: string }
}

/** Formats the chunks of one chat or completions stream. */
export class ChunkFormat implements StreamEncoder {
  readonly #head: string
  readonly #completion: boolean
  readonly #promptTokens: number
  readonly #includeUsage: boolean
  readonly #continuousUsage: boolean
  readonly #finish: string
  readonly #reasoningKey: string
  readonly #tags: boolean
  /** Reasoning tokens reported in continuous usage, or -1 for no details. */
  readonly #reasoningDetails: number
  /** The first delta of the tool call: id, type, name and empty arguments, as OpenAI sends it. */
  readonly #toolHead: string | undefined
  #first = true
  #events = 0

  constructor(options: ChunkFormatInit) {
    const completion = options.endpoint === 'completion'
    const object = completion ? 'text_completion' : 'chat.completion.chunk'
    this.#head = `data: {"id":"${options.id}","object":"${object}","created":${options.created},"model":${JSON.stringify(options.model)},"choices":[`
    this.#completion = completion
    this.#promptTokens = options.promptTokens
    this.#includeUsage = options.includeUsage
    this.#continuousUsage = options.continuousUsage
    this.#finish = `"${options.finishReason}"`
    this.#reasoningKey = `"${options.reasoningField === 'reasoning' ? 'reasoning' : 'reasoning_content'}":"`
    this.#tags = options.reasoningField === 'tags'
    this.#reasoningDetails = options.reasoningTokens > 0 && !this.#tags ? options.reasoningTokens : -1
    const call = options.toolCall
    this.#toolHead =
      call &&
      `"tool_calls":[{"index":0,"id":"${call.id}","type":"function","function":{"name":${JSON.stringify(call.name)},"arguments":"`
  }

  takeEvents(): number {
    const n = this.#events
    this.#events = 0
    return n
  }

  #tail(completionTokens: number): string {
    if (!this.#continuousUsage) return '}\n\n'
    const p = this.#promptTokens
    const r = this.#reasoningDetails
    const details = r < 0 ? '' : `,"completion_tokens_details":{"reasoning_tokens":${Math.min(r, completionTokens)}}`
    return `,"usage":{"prompt_tokens":${p},"total_tokens":${p + completionTokens},"completion_tokens":${completionTokens}${details}}}\n\n`
  }

  /** A chat chunk with these delta fields. */
  #delta(fields: string, completionTokens: number, finish: string | null): string {
    this.#events++
    return `${this.#head}{"index":0,"delta":{${fields}},"logprobs":null,"finish_reason":${finish ?? 'null'}}]${this.#tail(completionTokens)}`
  }

  #textFields(reasoning: string, content: string): string {
    if (reasoning === '') return `"content":"${content}"`
    return content === '' ? `${this.#reasoningKey}${reasoning}"` : `${this.#reasoningKey}${reasoning}","content":"${content}"`
  }

  open(): string {
    return ''
  }

  /** The role-only chunk a chat stream opens with (vLLM sends it with the first token). */
  role(): string {
    return this.#delta('"role":"assistant","content":""', 0, null)
  }

  /**
   * The chunks of one step; the finish reason is on the chunk with the last token, as vLLM does. A chat
   * stream's first step starts with the role chunk. A tool call's first answer token comes after a chunk
   * with the call's id and name; each step's answer tokens are one `arguments` fragment.
   */
  step(s: OutputStep, generated: number, done: boolean): string {
    const finish = done ? this.#finish : null
    if (this.#completion) {
      this.#events++
      return `${this.#head}{"index":0,"text":"${s.answer}","logprobs":null,"finish_reason":${finish ?? 'null'}}]${this.#tail(generated)}`
    }
    let out = ''
    if (this.#first) {
      this.#first = false
      out = this.role()
    }
    let reasoning = s.reasoning
    let content = ''
    if (this.#tags && reasoning !== '') {
      content = thinkText(s)
      reasoning = ''
    }
    if (this.#toolHead === undefined) return out + this.#delta(this.#textFields(reasoning, content + s.answer), generated, finish)
    const before = generated - s.answerCount
    if (reasoning !== '' || content !== '') {
      out += this.#delta(this.#textFields(reasoning, content), before, s.answerCount === 0 ? finish : null)
    }
    if (s.answerCount > 0) {
      const args = (s.answerStarts ? ARGS_OPEN_WIRE : '') + s.answer + (done ? ARGS_CLOSE_WIRE : '')
      // The call's id and name come with its first tokens, in one chunk: a chunk of its own would carry no token
      // and give the client a gap of 0 ms that no decode step made.
      const head = s.answerStarts ? this.#toolHead : '"tool_calls":[{"index":0,"function":{"arguments":"'
      out += this.#delta(`${head}${args}"}}]`, generated, finish)
    }
    return out
  }

  /** The usage chunk (`stream_options.include_usage`: no choices), then `[DONE]`. */
  finish(usage: Usage, terminal: boolean): string {
    let out = ''
    if (this.#includeUsage) {
      this.#events++
      out += `${this.#head}],"usage":${usageJson(usage)}}\n\n`
    }
    if (terminal) {
      this.#events++
      out += DONE_EVENT
    }
    return out
  }

  malformed(): string {
    this.#events++
    return `${this.#head}{"index":0,"delta":{"content":"\n\n`
  }
}

export function usageJson(usage: Usage): string {
  const { promptTokens: p, completionTokens: c, cachedTokens, reasoningTokens } = usage
  const details = reasoningTokens === undefined ? '' : `,"completion_tokens_details":{"reasoning_tokens":${reasoningTokens}}`
  return `{"prompt_tokens":${p},"total_tokens":${p + c},"completion_tokens":${c},"prompt_tokens_details":{"cached_tokens":${cachedTokens}}${details}}`
}

/** The body of a non-streaming chat or completions response. */
export function completionBody(options: {
  endpoint: 'chat' | 'completion'
  id: string
  created: number
  model: string
  /** Reasoning in its own field (empty: none). */
  reasoning: string
  reasoningField: ReasoningField
  /** null: a tool call and no text (chat). */
  content: string | null
  toolCall?: { id: string; name: string; arguments: string }
  finishReason: string
  usage: Usage
}): string {
  const { endpoint, id, created, model, reasoning, content, toolCall, finishReason, usage } = options
  const usageObject = JSON.parse(usageJson(usage)) as unknown
  if (endpoint === 'completion') {
    return JSON.stringify({
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text: content ?? '', logprobs: null, finish_reason: finishReason, stop_reason: null }],
      usage: usageObject,
    })
  }
  const message: Record<string, unknown> = { role: 'assistant', content }
  if (reasoning !== '') message[options.reasoningField === 'reasoning' ? 'reasoning' : 'reasoning_content'] = reasoning
  if (toolCall) {
    message.tool_calls = [{ id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: toolCall.arguments } }]
  }
  return JSON.stringify({
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason, stop_reason: null }],
    usage: usageObject,
  })
}

/** OpenAI-style error body: `{"error":{"message","type","param","code"}}`. */
export function errorBody(status: number, message: string, param: string | null = null): string {
  return JSON.stringify({ error: { message, type: errorType(status), param, code: status } })
}

function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequestError'
    case 401:
      return 'AuthenticationError'
    case 403:
      return 'PermissionDeniedError'
    case 404:
      return 'NotFoundError'
    case 405:
      return 'MethodNotAllowedError'
    case 413:
      return 'RequestTooLargeError'
    case 422:
      return 'UnprocessableEntityError'
    case 429:
      return 'RateLimitError'
    case 503:
      return 'ServiceUnavailableError'
    default:
      return status >= 500 ? 'InternalServerError' : 'BadRequestError'
  }
}
