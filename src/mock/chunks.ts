/**
 * OpenAI wire shapes, as vLLM sends them. Stream chunks are built from strings prepared once per
 * stream (id, created, model are fixed), so each chunk costs a few concatenations rather than a
 * JSON.stringify of a fresh object. Generated text never needs escaping (see output.ts).
 */

export type ApiRoute = 'chat' | 'completion'

export interface Usage {
  promptTokens: number
  completionTokens: number
  cachedTokens: number
}

export const DONE_EVENT = 'data: [DONE]\n\n'

export const JSON_HEADERS: Record<string, string> = { 'content-type': 'application/json' }

/** Formats the chunks of one stream. */
export class ChunkFormat {
  readonly #head: string
  readonly #endpoint: ApiRoute
  readonly #promptTokens: number
  readonly #continuousUsage: boolean

  constructor(options: {
    endpoint: ApiRoute
    id: string
    created: number
    model: string
    promptTokens: number
    continuousUsage: boolean
  }) {
    const object = options.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion'
    this.#head = `data: {"id":"${options.id}","object":"${object}","created":${options.created},"model":${JSON.stringify(options.model)},"choices":[`
    this.#endpoint = options.endpoint
    this.#promptTokens = options.promptTokens
    this.#continuousUsage = options.continuousUsage
  }

  #tail(completionTokens: number): string {
    if (!this.#continuousUsage) return '}\n\n'
    const p = this.#promptTokens
    return `,"usage":{"prompt_tokens":${p},"total_tokens":${p + completionTokens},"completion_tokens":${completionTokens}}}\n\n`
  }

  /** The role-only chunk a chat stream opens with (vLLM sends it with the first token). */
  role(): string {
    return `${this.#head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]${this.#tail(0)}`
  }

  /**
   * A chunk carrying generated text. `finishReason` is set on the chunk with the last token, as vLLM does.
   * `reasoning` is only for chat (`delta.reasoning_content`).
   */
  tokens(reasoning: string, content: string, completionTokens: number, finishReason: string | null): string {
    const finish = finishReason === null ? 'null' : `"${finishReason}"`
    if (this.#endpoint === 'completion') {
      return `${this.#head}{"index":0,"text":"${content}","logprobs":null,"finish_reason":${finish}}]${this.#tail(completionTokens)}`
    }
    const delta =
      reasoning === ''
        ? `"content":"${content}"`
        : content === ''
          ? `"reasoning_content":"${reasoning}"`
          : `"reasoning_content":"${reasoning}","content":"${content}"`
    return `${this.#head}{"index":0,"delta":{${delta}},"logprobs":null,"finish_reason":${finish}}]${this.#tail(completionTokens)}`
  }

  /** The usage chunk (`stream_options.include_usage`): no choices. */
  usage(usage: Usage): string {
    return `${this.#head}],"usage":${usageJson(usage)}}\n\n`
  }

  /** A chunk whose JSON is cut short (the `malformed-after` fault). */
  malformed(): string {
    return `${this.#head}{"index":0,"delta":{"content":"\n\n`
  }
}

export function usageJson(usage: Usage): string {
  const { promptTokens: p, completionTokens: c, cachedTokens } = usage
  return `{"prompt_tokens":${p},"total_tokens":${p + c},"completion_tokens":${c},"prompt_tokens_details":{"cached_tokens":${cachedTokens}}}`
}

/** The body of a non-streaming response. */
export function completionBody(options: {
  endpoint: ApiRoute
  id: string
  created: number
  model: string
  reasoning: string
  content: string
  finishReason: string
  usage: Usage
}): string {
  const { endpoint, id, created, model, reasoning, content, finishReason, usage } = options
  const usageObject = JSON.parse(usageJson(usage)) as unknown
  if (endpoint === 'completion') {
    return JSON.stringify({
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text: content, logprobs: null, finish_reason: finishReason, stop_reason: null }],
      usage: usageObject,
    })
  }
  const message: Record<string, unknown> = { role: 'assistant', content }
  if (reasoning !== '') message.reasoning_content = reasoning
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
