/**
 * Reads an OpenAI chat, completions or Responses request body into what the engine needs, or a 400 with an
 * OpenAI-style message naming the parameter. Chat messages and Responses input items become the same
 * template messages (template.ts), so a conversation is the same prompt on both routes, and a follow-up
 * turn that repeats it shares the previous turn's prefix, assistant reply (or tool call) included.
 */

import type { ApiRoute } from './chunks.ts'
import { type TemplateMessage, type TemplateTool, type TemplateToolCall, conversationOf, renderPrompt } from './template.ts'
import { tokenizeInto } from './tokenizer.ts'

/** The function the answer calls: the request has tools and a tool_choice other than "none". */
export interface ToolCallPlan {
  name: string
  /** tool_choice named this function (finish_reason `stop`, as OpenAI and vLLM; else `tool_calls`). */
  named: boolean
}

/** Request fields a Responses answer echoes in its `response` object. */
export interface ResponsesEcho {
  instructions: string | null
  temperature: number
  topP: number
  toolChoice: unknown
  tools: unknown[]
  user: string | null
  metadata: unknown
  parallelToolCalls: boolean
}

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
  /** The answer is this tool call instead of text (chat and Responses). */
  toolCall: ToolCallPlan | undefined
  /** Responses only: what the `response` object echoes. */
  responses: ResponsesEcho | undefined
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

  let tokens: number[]
  let firstText: string
  let turn: number
  let toolCall: ToolCallPlan | undefined
  let responses: ResponsesEcho | undefined
  let requested: number | undefined
  if (endpoint === 'completion') {
    ;({ tokens, firstText, turn } = renderCompletionPrompt(body.prompt))
    requested = maxTokensOf(body, ['max_tokens'])
  } else {
    const responsesRoute = endpoint === 'responses'
    const tools = responsesRoute ? responsesTools(body.tools) : chatTools(body.tools)
    toolCall = toolChoiceOf(body.tool_choice, tools, responsesRoute)
    const messages = responsesRoute ? responsesMessages(body) : chatMessages(body.messages)
    tokens = renderPrompt(tools, messages)
    ;({ firstText, turn } = conversationOf(messages))
    requested = maxTokensOf(body, responsesRoute ? ['max_output_tokens'] : ['max_completion_tokens', 'max_tokens'])
    if (responsesRoute) responses = responsesEcho(body)
  }
  const user = typeof body.user === 'string' && body.user !== '' ? body.user : undefined
  const session = sessionHeader !== undefined && sessionHeader !== '' ? sessionHeader : (user ?? firstText)

  const stream = optionalBoolean(body, 'stream') ?? false
  let includeUsage = false
  let continuousUsage = false
  // The Responses API always reports usage (in response.completed); its stream_options are not vLLM's.
  if (endpoint !== 'responses' && body.stream_options !== undefined && body.stream_options !== null) {
    if (!isObject(body.stream_options)) throw new RequestError('stream_options must be an object', 'stream_options')
    includeUsage = optionalBoolean(body.stream_options, 'include_usage', 'stream_options.') ?? false
    continuousUsage = optionalBoolean(body.stream_options, 'continuous_usage_stats', 'stream_options.') ?? false
  }

  const prompt = tokens.length
  let maxTokens = requested ?? Math.min(limits.defaultMaxTokens, limits.maxModelLen - prompt)
  if (requested === undefined && maxTokens < 1) maxTokens = limits.defaultMaxTokens
  if (prompt + maxTokens > limits.maxModelLen) {
    throw new RequestError(
      `This model's maximum context length is ${limits.maxModelLen} tokens. However, you requested ` +
        `${prompt + maxTokens} tokens (${prompt} in the messages, ${maxTokens} in the completion). ` +
        'Please reduce the length of the messages or completion.',
      endpoint === 'chat' ? 'messages' : endpoint === 'responses' ? 'input' : 'prompt',
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
    toolCall,
    responses,
  }
}

function optionalBoolean(body: Json, key: string, prefix = ''): boolean | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') throw new RequestError(`${prefix}${key} must be a boolean`, prefix + key)
  return value
}

function optionalNumber(body: Json, key: string): number | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RequestError(`${key} must be a number`, key)
  return value
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new RequestError(`${where} must be a string`, where)
  return value
}

function maxTokensOf(body: Json, keys: string[]): number | undefined {
  for (const key of keys) {
    const value = body[key]
    if (value === undefined || value === null) continue
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new RequestError(`${key} must be an integer >= 1, got ${JSON.stringify(value)}`, key)
    }
    return value
  }
  return undefined
}

// ── chat ──

function chatMessages(messages: unknown): TemplateMessage[] {
  if (messages === undefined || messages === null) throw new RequestError('Field required: messages', 'messages')
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new RequestError('messages must be a non-empty array', 'messages')
  }
  return messages.map((message: unknown, i): TemplateMessage => {
    const where = `messages[${i}]`
    if (!isObject(message) || typeof message.role !== 'string') {
      throw new RequestError(`${where} must be an object with a string role`, where)
    }
    const content = contentText(message.content, `${where}.content`)
    const toolCalls = chatToolCalls(message.tool_calls)
    return toolCalls ? { role: message.role, content, toolCalls } : { role: message.role, content }
  })
}

/** An assistant message's tool calls, for the prompt; entries without a function name are skipped. */
function chatToolCalls(calls: unknown): TemplateToolCall[] | undefined {
  if (!Array.isArray(calls) || calls.length === 0) return undefined
  const out: TemplateToolCall[] = []
  for (const call of calls) {
    if (!isObject(call) || !isObject(call.function) || typeof call.function.name !== 'string') continue
    out.push({ name: call.function.name, arguments: argumentsText(call.function.arguments) })
  }
  return out.length > 0 ? out : undefined
}

function argumentsText(value: unknown): string {
  if (typeof value === 'string') return value
  return value === undefined || value === null ? '' : JSON.stringify(value)
}

/** A message's text: a string, null (assistant tool calls), or an array of parts whose text parts count. */
function contentText(content: unknown, where: string): string {
  if (content === undefined || content === null) return ''
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    let text = ''
    for (const part of content) {
      // Chat's `text` parts, and the Responses API's `input_text` / `output_text` parts.
      if (isObject(part) && typeof part.text === 'string' && (part.type === 'text' || part.type === 'input_text' || part.type === 'output_text')) {
        text += part.text
      }
    }
    return text
  }
  throw new RequestError(`${where} must be a string or an array of content parts`, where)
}

/** Chat's tools: `[{type: "function", function: {name, description?, parameters?}}]`. */
function chatTools(tools: unknown): TemplateTool[] {
  if (tools === undefined || tools === null) return []
  if (!Array.isArray(tools)) throw new RequestError('tools must be an array of function tools', 'tools')
  return tools.map((tool: unknown, i) => {
    const where = `tools[${i}]`
    if (!isObject(tool)) throw new RequestError(`${where} must be an object`, where)
    if (tool.type !== undefined && tool.type !== 'function') {
      throw new RequestError(`${where}.type must be "function", got ${JSON.stringify(tool.type)}`, `${where}.type`)
    }
    if (!isObject(tool.function)) throw new RequestError(`${where}.function must be an object with a name`, `${where}.function`)
    return functionTool(tool.function, `${where}.function`)
  })
}

/** The Responses API's tools: `[{type: "function", name, description?, parameters?}]` (function tools only). */
function responsesTools(tools: unknown): TemplateTool[] {
  if (tools === undefined || tools === null) return []
  if (!Array.isArray(tools)) throw new RequestError('tools must be an array of function tools', 'tools')
  return tools.map((tool: unknown, i) => {
    const where = `tools[${i}]`
    if (!isObject(tool)) throw new RequestError(`${where} must be an object`, where)
    if (tool.type !== 'function') {
      throw new RequestError(`${where}.type must be "function" (the mock serves function tools only), got ${JSON.stringify(tool.type)}`, `${where}.type`)
    }
    return functionTool(tool, where)
  })
}

function functionTool(fn: Json, where: string): TemplateTool {
  if (typeof fn.name !== 'string' || fn.name === '') throw new RequestError(`${where}.name must be a non-empty string`, `${where}.name`)
  const description = optionalString(fn.description, `${where}.description`)
  if (fn.parameters !== undefined && fn.parameters !== null && !isObject(fn.parameters)) {
    throw new RequestError(`${where}.parameters must be an object (a JSON Schema)`, `${where}.parameters`)
  }
  return { name: fn.name, description, parameters: fn.parameters ?? undefined }
}

/**
 * Which function the answer calls. Chat names a function as `{type: "function", function: {name}}`, the
 * Responses API as `{type: "function", name}`. Without tool_choice, tools mean "auto" (OpenAI's default).
 */
function toolChoiceOf(choice: unknown, tools: TemplateTool[], responsesRoute: boolean): ToolCallPlan | undefined {
  if (choice === undefined || choice === null || choice === 'auto') {
    return tools.length > 0 ? { name: tools[0]!.name, named: false } : undefined
  }
  if (choice === 'none') return undefined
  if (choice === 'required') {
    if (tools.length === 0) throw new RequestError('tool_choice "required" needs a non-empty tools array', 'tool_choice')
    return { name: tools[0]!.name, named: false }
  }
  let name: unknown
  if (isObject(choice) && choice.type === 'function') name = responsesRoute ? choice.name : isObject(choice.function) ? choice.function.name : undefined
  if (typeof name !== 'string') {
    const shape = responsesRoute ? '{"type": "function", "name": ...}' : '{"type": "function", "function": {"name": ...}}'
    throw new RequestError(`tool_choice must be "none", "auto", "required" or ${shape}`, 'tool_choice')
  }
  if (!tools.some((tool) => tool.name === name)) {
    throw new RequestError(`tool_choice names the function ${JSON.stringify(name)}, which is not in tools`, 'tool_choice')
  }
  return { name, named: true }
}

// ── Responses ──

/**
 * The Responses API's `instructions` and `input` as chat messages: instructions are a system message
 * first; input is a string (one user message) or items: messages (`{role, content}`, with or without
 * `type: "message"`), `function_call` (an assistant tool call, joined to the assistant message before it
 * as chat carries it), `function_call_output` (a tool message). Reasoning items are left out, as chat
 * templates leave reasoning out of the history.
 */
function responsesMessages(body: Json): TemplateMessage[] {
  const messages: TemplateMessage[] = []
  const instructions = optionalString(body.instructions, 'instructions')
  if (instructions !== undefined && instructions !== '') messages.push({ role: 'system', content: instructions })
  const input = body.input
  if (input === undefined || input === null) throw new RequestError('Field required: input', 'input')
  if (typeof input === 'string') {
    if (input === '') throw new RequestError('input must not be empty', 'input')
    messages.push({ role: 'user', content: input })
    return messages
  }
  if (!Array.isArray(input) || input.length === 0) {
    throw new RequestError('input must be a non-empty string or a non-empty array of input items', 'input')
  }
  // The assistant message a function_call item joins (the one just before it), if any.
  let assistant: TemplateMessage | undefined
  input.forEach((item: unknown, i) => {
    const where = `input[${i}]`
    if (!isObject(item)) throw new RequestError(`${where} must be an object`, where)
    const type = item.type ?? 'message'
    switch (type) {
      case 'message': {
        if (typeof item.role !== 'string') throw new RequestError(`${where}.role must be a string`, `${where}.role`)
        const message: TemplateMessage = { role: item.role, content: contentText(item.content, `${where}.content`) }
        messages.push(message)
        assistant = item.role === 'assistant' ? message : undefined
        return
      }
      case 'function_call': {
        if (typeof item.name !== 'string') throw new RequestError(`${where}.name must be a string`, `${where}.name`)
        const call = { name: item.name, arguments: argumentsText(item.arguments) }
        if (assistant) (assistant.toolCalls ??= []).push(call)
        else {
          assistant = { role: 'assistant', content: '', toolCalls: [call] }
          messages.push(assistant)
        }
        return
      }
      case 'function_call_output': {
        const output = typeof item.output === 'string' ? item.output : contentText(item.output, `${where}.output`)
        messages.push({ role: 'tool', content: output })
        assistant = undefined
        return
      }
      case 'reasoning':
        return
      default:
        throw new RequestError(
          `${where}.type ${JSON.stringify(type)} is not supported by the mock (message, function_call, function_call_output, reasoning)`,
          `${where}.type`,
        )
    }
  })
  if (!messages.some((message) => message.role !== 'system')) {
    throw new RequestError('input must hold at least one message', 'input')
  }
  return messages
}

function responsesEcho(body: Json): ResponsesEcho {
  if (body.previous_response_id !== undefined && body.previous_response_id !== null) {
    // vLLM answers 404 unless its store is on; the mock keeps no responses, so say what to do instead.
    throw new RequestError(
      'previous_response_id is not supported by the mock (it stores no responses): send the conversation as input items',
      'previous_response_id',
    )
  }
  const instructions = optionalString(body.instructions, 'instructions')
  return {
    instructions: instructions ?? null,
    temperature: optionalNumber(body, 'temperature') ?? 1,
    topP: optionalNumber(body, 'top_p') ?? 1,
    toolChoice: body.tool_choice ?? 'auto',
    tools: Array.isArray(body.tools) ? body.tools : [],
    user: typeof body.user === 'string' ? body.user : null,
    metadata: body.metadata ?? null,
    parallelToolCalls: optionalBoolean(body, 'parallel_tool_calls') ?? true,
  }
}

// ── completions ──

interface Rendered {
  tokens: number[]
  firstText: string
  turn: number
}

function renderCompletionPrompt(prompt: unknown): Rendered {
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
