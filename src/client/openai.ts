import type { ChatMessage } from '../types.ts'

/** Which OpenAI-compatible API an endpoint speaks: Chat Completions, (legacy) Completions, or Responses. */
export type ApiKind = 'chat' | 'completions' | 'responses'

/** The API kinds, in the order `--api` lists them. */
export const API_KINDS: readonly ApiKind[] = ['chat', 'completions', 'responses']

/** The path each API is served at under a base URL. */
export const API_PATHS: Readonly<Record<ApiKind, string>> = { chat: '/v1/chat/completions', completions: '/v1/completions', responses: '/v1/responses' }

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
  /**
   * Read `<think>…</think>` in the answer's content as reasoning, for a server that streams a reasoning model
   * without a reasoning parser (client side only; nothing is sent). @default false
   */
  reasoningTags?: boolean
}

/** Tools offered with a request (a dataset row's `tools` and `tool_choice`), in the Chat Completions shape. */
export interface RequestTools {
  /** `[{ type: 'function', function: { name, description?, parameters? } }]` */
  tools?: readonly unknown[]
  /** `'auto'`, `'none'`, `'required'` or `{ type: 'function', function: { name } }` */
  toolChoice?: unknown
}

/** The API kind of an endpoint URL, from its path. */
export function apiKindOf(url: string): ApiKind {
  if (/\/responses\/?$/.test(url)) return 'responses'
  return /\/completions\/?$/.test(url) && !/\/chat\/completions\/?$/.test(url) ? 'completions' : 'chat'
}

/** Renders a conversation as one prompt for the completions API. */
export function renderPrompt(messages: readonly ChatMessage[]): string {
  if (messages.length === 1 && messages[0]?.role === 'user') return messages[0].content
  return messages.map((m) => `${m.role === 'user' ? 'User' : m.role === 'assistant' ? 'Assistant' : 'System'}: ${m.content}`).join('\n\n') + '\n\nAssistant:'
}

/** The JSON body of one request. */
export function buildPayload(kind: ApiKind, messages: readonly ChatMessage[], options: GenerationOptions, tools: RequestTools = {}): string {
  const stream = options.stream ?? true
  const body: Record<string, unknown> = { model: options.model }
  if (kind === 'chat') body['messages'] = messages
  else if (kind === 'responses') body['input'] = messages.map((m) => ({ role: m.role, content: m.content }))
  else body['prompt'] = renderPrompt(messages)
  if (options.maxTokens !== undefined) {
    if (kind === 'responses') body['max_output_tokens'] = options.maxTokens
    else body['max_tokens'] = options.maxTokens
    if (kind === 'chat') body['max_completion_tokens'] = options.maxTokens
  }
  if (options.temperature !== undefined) body['temperature'] = options.temperature
  if (options.topP !== undefined) body['top_p'] = options.topP
  // The Responses API has no ignore_eos (OpenAI rejects unknown fields).
  if (options.ignoreEos && kind !== 'responses') body['ignore_eos'] = true
  // A benchmark's answers are not worth keeping: OpenAI stores every response unless told not to, vLLM in memory.
  if (kind === 'responses') body['store'] = false
  if (tools.tools !== undefined && kind !== 'completions') {
    body['tools'] = kind === 'responses' ? tools.tools.map(responsesTool) : tools.tools
    if (tools.toolChoice !== undefined) body['tool_choice'] = kind === 'responses' ? responsesToolChoice(tools.toolChoice) : tools.toolChoice
  }
  body['stream'] = stream
  if (stream && kind !== 'responses') {
    body['stream_options'] = options.continuousUsageStats === false
      ? { include_usage: true }
      : { include_usage: true, continuous_usage_stats: true }
  }
  return JSON.stringify(body)
}

/** A Chat Completions tool (`{type, function: {name, …}}`) in the Responses API's flat shape (`{type, name, …}`). */
function responsesTool(tool: unknown): unknown {
  if (!isRecord(tool) || tool['type'] !== 'function' || !isRecord(tool['function'])) return tool
  return { type: 'function', ...tool['function'] }
}

function responsesToolChoice(choice: unknown): unknown {
  if (!isRecord(choice) || choice['type'] !== 'function' || !isRecord(choice['function'])) return choice
  return { type: 'function', name: choice['function']['name'] }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** What one decoded chunk (or a whole non-streamed response) contributes. */
export interface ChunkInfo {
  /** Answer text of this chunk (chat `content`, a completion's `text`, Responses `output_text`). */
  text: string
  /** Reasoning text (`reasoning_content` or `reasoning` deltas; Responses reasoning text or summary). */
  reasoning: string
  /** Indices of the tool calls this chunk carries a delta of (Responses: the item's output_index); null when none. */
  toolCalls: number[] | null
  /** The tool calls' names and argument fragments in this chunk (output, counted when the server reports no usage). */
  toolText: string
  /** The chunk carries generated output (answer, reasoning or tool-call deltas); role-only chunks do not. */
  hasContent: boolean
  finishReason: string | null
  promptTokens: number | null
  completionTokens: number | null
  cachedTokens: number | null
  /** `usage.completion_tokens_details.reasoning_tokens` (Responses: `output_tokens_details`). */
  reasoningTokens: number | null
  /** llama.cpp: prompt tokens actually evaluated (`timings.prompt_n`). */
  promptEvaluated: number | null
  /** An `error` object sent inside the stream (vLLM does this on failures mid-stream; Responses `error` / `response.failed`). */
  errorMessage: string | null
  /** The Responses API's last event (`response.completed` or `response.incomplete`): the stream is over. */
  done: boolean
}

/**
 * Decodes an OpenAI chunk (`chat.completion.chunk` / `text_completion`), a Responses API event, or a
 * non-streamed response of any of the three, with JSON.parse. (The streaming client reads the common
 * content-only chunk from its bytes first: fastChunk.ts.) Throws SyntaxError on invalid JSON; the caller
 * decides what that means.
 */
export function decodeChunk(json: string): ChunkInfo {
  const obj = JSON.parse(json) as Record<string, unknown>
  const info: ChunkInfo = {
    text: '', reasoning: '', toolCalls: null, toolText: '', hasContent: false, finishReason: null, promptTokens: null, completionTokens: null,
    cachedTokens: null, reasoningTokens: null, promptEvaluated: null, errorMessage: null, done: false,
  }
  if (!isRecord(obj)) return info
  if (typeof obj['type'] === 'string') return withContent(decodeResponsesEvent(obj, obj['type'], info))
  if (obj['object'] === 'response') return withContent(decodeResponse(obj, info))
  const choices = obj['choices']
  if (Array.isArray(choices) && choices.length > 0) {
    const choice = choices[0] as Record<string, unknown>
    const delta = (choice['delta'] ?? choice['message']) as Record<string, unknown> | undefined
    if (delta && typeof delta === 'object') {
      const content = delta['content']
      if (typeof content === 'string' && content.length > 0) info.text = content
      // Either spelling; a server may send both, one of them empty or null.
      for (const key of ['reasoning_content', 'reasoning']) {
        const reasoning = delta[key]
        if (typeof reasoning === 'string' && reasoning.length > 0) {
          info.reasoning = reasoning
          break
        }
      }
      const toolCalls = delta['tool_calls']
      if (Array.isArray(toolCalls) && toolCalls.length > 0) {
        info.toolCalls = toolCalls.map((c, i) => (isRecord(c) && typeof c['index'] === 'number' ? c['index'] : i))
        for (const c of toolCalls) {
          const fn = isRecord(c) ? c['function'] : undefined
          if (!isRecord(fn)) continue
          if (typeof fn['name'] === 'string') info.toolText += fn['name']
          if (typeof fn['arguments'] === 'string') info.toolText += fn['arguments']
        }
      }
    }
    const completionText = choice['text']
    if (typeof completionText === 'string' && completionText.length > 0) info.text += completionText
    const fr = choice['finish_reason']
    if (typeof fr === 'string') info.finishReason = fr
  }
  const usage = obj['usage']
  if (isRecord(usage)) {
    readUsage(usage, CHAT_USAGE, info)
    // SGLang reports it at the top of usage (and 0 when it does not count).
    if (info.reasoningTokens === null) info.reasoningTokens = numberOrNull(usage['reasoning_tokens'])
  }
  const timings = obj['timings'] as Record<string, unknown> | undefined
  if (timings && typeof timings === 'object') info.promptEvaluated = numberOrNull(timings['prompt_n'])
  const error = obj['error'] as Record<string, unknown> | string | undefined
  if (error !== undefined && error !== null) info.errorMessage = errorText(error)
  return withContent(info)
}

/** The chunk carries generated output of any kind. */
function withContent(info: ChunkInfo): ChunkInfo {
  info.hasContent = info.text.length > 0 || info.reasoning.length > 0 || info.toolCalls !== null
  return info
}

/** Where each API keeps its token counts in `usage`. */
interface UsageKeys { prompt: string; completion: string; promptDetails: string; completionDetails: string }
const CHAT_USAGE: UsageKeys = { prompt: 'prompt_tokens', completion: 'completion_tokens', promptDetails: 'prompt_tokens_details', completionDetails: 'completion_tokens_details' }
const RESPONSES_USAGE: UsageKeys = { prompt: 'input_tokens', completion: 'output_tokens', promptDetails: 'input_tokens_details', completionDetails: 'output_tokens_details' }

function readUsage(usage: Record<string, unknown>, keys: UsageKeys, info: ChunkInfo): void {
  info.promptTokens = numberOrNull(usage[keys.prompt])
  info.completionTokens = numberOrNull(usage[keys.completion])
  const prompt = usage[keys.promptDetails]
  if (isRecord(prompt)) info.cachedTokens = numberOrNull(prompt['cached_tokens'])
  const completion = usage[keys.completionDetails]
  if (isRecord(completion)) info.reasoningTokens = numberOrNull(completion['reasoning_tokens'])
}

/** Reasoning deltas of the Responses API: vLLM's reasoning text, OpenAI's reasoning summary. */
const RESPONSES_REASONING = new Set(['response.reasoning_text.delta', 'response.reasoning_summary_text.delta', 'response.reasoning.delta'])

/**
 * One Responses API event (`{"type": "response.output_text.delta", …}`). Only the events that carry output,
 * usage or the end are read; the others (created, in_progress, part and item boundaries, `.done` repeats of
 * the whole text) carry nothing new.
 */
function decodeResponsesEvent(obj: Record<string, unknown>, type: string, info: ChunkInfo): ChunkInfo {
  const delta = obj['delta']
  if (type === 'response.output_text.delta') {
    if (typeof delta === 'string' && delta.length > 0) info.text = delta
  } else if (RESPONSES_REASONING.has(type)) {
    if (typeof delta === 'string' && delta.length > 0) info.reasoning = delta
  } else if (type === 'response.function_call_arguments.delta') {
    // The call's tokens; its `output_item.added` (id and name, sent with them in the same step) carries none.
    info.toolCalls = [typeof obj['output_index'] === 'number' ? obj['output_index'] : 0]
    if (typeof delta === 'string') info.toolText = delta
  } else if (type === 'response.completed' || type === 'response.incomplete') {
    const response = obj['response']
    if (isRecord(response)) responseEnd(response, info)
    info.done = true
  } else if (type === 'response.failed') {
    const response = obj['response']
    const error = isRecord(response) ? response['error'] : undefined
    info.errorMessage = error !== undefined && error !== null ? errorText(error as Record<string, unknown>) : 'response.failed'
  } else if (type === 'error') {
    info.errorMessage = typeof obj['message'] === 'string' ? obj['message'] : errorText((obj['error'] ?? obj) as Record<string, unknown>)
  }
  return info
}

/** A whole (non-streamed) Responses API answer: its output items, usage and status. */
function decodeResponse(response: Record<string, unknown>, info: ChunkInfo): ChunkInfo {
  const output = response['output']
  if (Array.isArray(output)) {
    output.forEach((item, index) => {
      if (!isRecord(item)) return
      if (item['type'] === 'function_call') {
        (info.toolCalls ??= []).push(index)
        info.toolText += `${typeof item['name'] === 'string' ? item['name'] : ''}${typeof item['arguments'] === 'string' ? item['arguments'] : ''}`
      }
      const parts = [...(Array.isArray(item['content']) ? item['content'] : []), ...(Array.isArray(item['summary']) ? item['summary'] : [])]
      for (const part of parts) {
        if (!isRecord(part) || typeof part['text'] !== 'string') continue
        if (item['type'] === 'reasoning') info.reasoning += part['text']
        else if (part['type'] === 'output_text') info.text += part['text']
      }
    })
  }
  responseEnd(response, info)
  const error = response['error']
  if (error !== undefined && error !== null) info.errorMessage = errorText(error as Record<string, unknown>)
  return info
}

/** Usage and finish of a Responses API `response` object (Chat's finish reasons: stop, length, tool_calls). */
function responseEnd(response: Record<string, unknown>, info: ChunkInfo): void {
  const usage = response['usage']
  if (isRecord(usage)) readUsage(usage, RESPONSES_USAGE, info)
  const status = response['status']
  const incomplete = response['incomplete_details']
  const calls = Array.isArray(response['output']) && response['output'].some((item) => isRecord(item) && item['type'] === 'function_call')
  if (status === 'incomplete') {
    const reason = isRecord(incomplete) ? incomplete['reason'] : undefined
    info.finishReason = reason === 'max_output_tokens' ? 'length' : typeof reason === 'string' ? reason : 'incomplete'
  } else if (typeof status === 'string') {
    info.finishReason = calls ? 'tool_calls' : status === 'completed' ? 'stop' : status
  }
}

function errorText(error: Record<string, unknown> | string): string {
  return typeof error === 'string' ? error : String(error['message'] ?? JSON.stringify(error))
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}
