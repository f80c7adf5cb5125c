/**
 * Wire shapes of the Responses API (`POST /v1/responses`), as vLLM streams them for a model with a
 * reasoning parser. The event sequence and item shapes follow vLLM's
 * vllm/entrypoints/openai/responses/streaming_events.py, `SimpleStreamingEventProcessor` and the
 * `emit_simple_*` functions (the non-harmony path: a reasoning item's part is announced by vLLM's own
 * `response.reasoning_part.added`, its text streams as `response.reasoning_text.delta`; an older
 * simple_streaming_events.py used `response.content_part.added` there), and the `response` object and its
 * usage vllm/entrypoints/openai/responses/protocol.py and serving.py (status `incomplete` with
 * `incomplete_details.reason: "max_output_tokens"` when the limit ended the answer, still announced by
 * `response.completed`). Unlike vLLM, an item keeps one id (`rs_…`, `msg_…`, `fc_…`) from its first event
 * to the final response (vLLM streams bare ids and lists new prefixed ones in `response.completed`).
 *
 * Each event is `event: <type>\ndata: <json with "type" and "sequence_number">\n\n`; there is no
 * `data: [DONE]`. Per-token delta events are built from a prefix prepared when their item opens, as
 * chunks.ts does for chat; the rarer events (items opening and closing, the response) are stringified.
 */

import {
  ARGS_CLOSE,
  ARGS_CLOSE_WIRE,
  ARGS_OPEN,
  ARGS_OPEN_WIRE,
  type StreamEncoder,
  type Usage,
  thinkText,
} from './chunks.ts'
import type { ResponsesEcho } from './openaiRequest.ts'
import type { OutputStep } from './output.ts'

type ItemKind = 'reasoning' | 'message' | 'function_call'

export interface ResponsesFormatInit {
  /** `resp_…` */
  id: string
  /** Suffix of the output items' ids (`rs_`, `msg_`, `fc_`, `call_` + suffix). */
  itemSuffix: string
  created: number
  model: string
  echo: ResponsesEcho
  /** The effective limit, echoed as `max_output_tokens` (vLLM echoes its sampling max_tokens). */
  maxOutputTokens: number
  /** `completed`, or `incomplete` when the limit ended the answer. */
  status: 'completed' | 'incomplete'
  /** Reasoning as `<think>` tags in the message text (a server without a reasoning parser). */
  tags: boolean
  /** The answer is a call of this function. */
  toolCall?: { name: string }
}

export function responsesUsageJson(usage: Usage): string {
  const { promptTokens: p, completionTokens: c } = usage
  return (
    `{"input_tokens":${p},"input_tokens_details":{"cached_tokens":${usage.cachedTokens}},"output_tokens":${c},` +
    `"output_tokens_details":{"reasoning_tokens":${usage.reasoningTokens ?? 0}},"total_tokens":${p + c}}`
  )
}

/**
 * Formats one Responses answer: streamed as events, or (`body`) as one `response` object. Output items
 * open as their first token comes and close when the next item opens or the answer ends: a reasoning item,
 * then a message or a function call.
 */
export class ResponsesFormat implements StreamEncoder {
  readonly #init: ResponsesFormatInit
  #sequence = 0
  #events = 0
  #open: ItemKind | null = null
  #outputIndex = -1
  #itemId = ''
  /** The open item's delta events up to the sequence number. */
  #deltaHead = ''
  /** The open item's text so far (arguments, for a function call). */
  #text = ''
  /** Finished output items. */
  readonly #output: unknown[] = []

  constructor(init: ResponsesFormatInit) {
    this.#init = init
  }

  takeEvents(): number {
    const n = this.#events
    this.#events = 0
    return n
  }

  #event(type: string, fields: Record<string, unknown>): string {
    this.#events++
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.#sequence++, ...fields })}\n\n`
  }

  /** The `response` object. */
  #response(status: string, usage: string | null): string {
    const { id, created, model, echo, maxOutputTokens } = this.#init
    const incomplete = status === 'incomplete' ? { reason: 'max_output_tokens' } : null
    // vLLM's ResponsesResponse fields, in its order (usage is appended).
    const head = JSON.stringify({
      id,
      created_at: created,
      incomplete_details: incomplete,
      instructions: echo.instructions,
      metadata: echo.metadata,
      model,
      object: 'response',
      output: status === 'in_progress' ? [] : this.#output,
      parallel_tool_calls: echo.parallelToolCalls,
      temperature: echo.temperature,
      tool_choice: echo.toolChoice,
      tools: echo.tools,
      top_p: echo.topP,
      background: false,
      max_output_tokens: maxOutputTokens,
      max_tool_calls: null,
      previous_response_id: null,
      prompt: null,
      reasoning: null,
      service_tier: 'auto',
      status,
      text: null,
      top_logprobs: null,
      truncation: 'disabled',
      user: echo.user,
    })
    return `${head.slice(0, -1)},"usage":${usage ?? 'null'}}`
  }

  /** `response.created` and `response.in_progress`, sent when the stream opens (vLLM sends them before the first token). */
  open(): string {
    const response = this.#response('in_progress', null)
    this.#events += 2
    const created = `event: response.created\ndata: {"type":"response.created","sequence_number":${this.#sequence++},"response":${response}}\n\n`
    return `${created}event: response.in_progress\ndata: {"type":"response.in_progress","sequence_number":${this.#sequence++},"response":${response}}\n\n`
  }

  step(s: OutputStep, _generated: number, done: boolean): string {
    let out = ''
    if (s.reasoningCount > 0) {
      if (this.#init.tags) {
        const text = thinkText(s)
        out += this.#delta('message', text, text)
      } else out += this.#delta('reasoning', s.reasoning, s.reasoning)
    }
    if (s.answerCount > 0) {
      if (this.#init.toolCall) {
        const start = s.answerStarts
        out += this.#delta(
          'function_call',
          (start ? ARGS_OPEN : '') + s.answer + (done ? ARGS_CLOSE : ''),
          (start ? ARGS_OPEN_WIRE : '') + s.answer + (done ? ARGS_CLOSE_WIRE : ''),
        )
      } else out += this.#delta('message', s.answer, s.answer)
    }
    if (done) out += this.#close()
    return out
  }

  /** A delta of the `kind` item, opening it (and closing the one before) if needed. */
  #delta(kind: ItemKind, text: string, wire: string): string {
    let out = ''
    if (this.#open !== kind) out = this.#close() + this.#openItem(kind)
    this.#text += text
    this.#events++
    return `${out}${this.#deltaHead}${this.#sequence++},"delta":"${wire}"}\n\n`
  }

  #openItem(kind: ItemKind): string {
    const index = ++this.#outputIndex
    const suffix = this.#init.itemSuffix
    this.#open = kind
    this.#text = ''
    const at = { output_index: index }
    if (kind === 'function_call') {
      const id = (this.#itemId = `fc_${suffix}`)
      this.#deltaHead = this.#head('response.function_call_arguments.delta', `"item_id":"${id}","output_index":${index}`)
      return this.#event('response.output_item.added', {
        ...at,
        item: { id, type: 'function_call', call_id: `call_${suffix}`, name: this.#init.toolCall!.name, arguments: '', status: 'in_progress' },
      })
    }
    const reasoning = kind === 'reasoning'
    const id = (this.#itemId = `${reasoning ? 'rs' : 'msg'}_${suffix}`)
    const where = { item_id: id, output_index: index, content_index: 0 }
    if (reasoning) {
      this.#deltaHead = this.#head('response.reasoning_text.delta', `"item_id":"${id}","output_index":${index},"content_index":0`)
      return (
        this.#event('response.output_item.added', { ...at, item: { id, type: 'reasoning', summary: [], status: 'in_progress' } }) +
        this.#event('response.reasoning_part.added', { ...where, part: { type: 'reasoning_text', text: '' } })
      )
    }
    this.#deltaHead = this.#head(
      'response.output_text.delta',
      `"item_id":"${id}","output_index":${index},"content_index":0,"logprobs":[]`,
    )
    return (
      this.#event('response.output_item.added', { ...at, item: { id, type: 'message', role: 'assistant', content: [], status: 'in_progress' } }) +
      this.#event('response.content_part.added', { ...where, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } })
    )
  }

  #head(type: string, fields: string): string {
    return `event: ${type}\ndata: {"type":"${type}",${fields},"sequence_number":`
  }

  /** The done events of the open item; it joins the output. */
  #close(): string {
    const kind = this.#open
    if (kind === null) return ''
    this.#open = null
    const id = this.#itemId
    const text = this.#text
    const index = this.#outputIndex
    const where = { item_id: id, output_index: index, content_index: 0 }
    let out: string
    let item: unknown
    if (kind === 'function_call') {
      const name = this.#init.toolCall!.name
      item = { id, type: 'function_call', call_id: `call_${this.#init.itemSuffix}`, name, arguments: text, status: 'completed' }
      out = this.#event('response.function_call_arguments.done', { item_id: id, output_index: index, name, arguments: text })
    } else if (kind === 'reasoning') {
      const part = { type: 'reasoning_text', text }
      item = { id, type: 'reasoning', summary: [], content: [part], status: 'completed' }
      out =
        this.#event('response.reasoning_text.done', { ...where, text }) +
        this.#event('response.reasoning_part.done', { ...where, part })
    } else {
      const part = { type: 'output_text', text, annotations: [] }
      item = { id, type: 'message', role: 'assistant', status: 'completed', content: [part] }
      out =
        this.#event('response.output_text.done', { ...where, text, logprobs: [] }) +
        this.#event('response.content_part.done', { ...where, part })
    }
    this.#output.push(item)
    return out + this.#event('response.output_item.done', { output_index: index, item })
  }

  /** `response.completed` with the whole response (for `incomplete` too, as vLLM sends it). */
  finish(usage: Usage, terminal: boolean): string {
    if (!terminal) return ''
    this.#events++
    return `event: response.completed\ndata: {"type":"response.completed","sequence_number":${this.#sequence++},"response":${this.body(usage)}}\n\n`
  }

  /** The finished `response` object (after the last step). */
  body(usage: Usage): string {
    return this.#response(this.#init.status, responsesUsageJson(usage))
  }

  malformed(): string {
    this.#events++
    return 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"\n\n'
  }
}
