/**
 * One accepted generation request, from engine tokens to bytes on the wire.
 */

import {
  ARGS_CLOSE,
  ARGS_OPEN,
  ChunkFormat,
  JSON_HEADERS,
  type ReasoningField,
  type StreamEncoder,
  type Usage,
  completionBody,
  thinkText,
} from './chunks.ts'
import type { Engine, Sequence, SequenceListener } from './engine.ts'
import type { FaultPlan } from './faults.ts'
import type { MockMetrics } from './metrics.ts'
import type { GenerationRequest } from './openaiRequest.ts'
import { OutputText } from './output.ts'
import { ResponsesFormat } from './responses.ts'
import { toolCallText } from './template.ts'
import { tokenizeInto } from './tokenizer.ts'
import type { MockReply, StreamSink } from './types.ts'

export interface GenerationInit {
  /** The response id: `chatcmpl-…`, `cmpl-…` or `resp_…`. */
  id: string
  /** What the ids of tool calls and output items end with. */
  idSuffix: string
  /** The model name the response carries. */
  model: string
  tokensPerChunk: number
  /** The first N generated tokens are reasoning (chat and Responses; 0 for completions). */
  reasoningTokens: number
  reasoningField: ReasoningField
  receivedAt: number
}

/** What a generation needs from the app that accepted it. */
export interface GenerationHost {
  readonly engine: Engine
  readonly metrics: MockMetrics
  countChunks(n: number): void
}

/**
 * One accepted generation request: submits it to the engine and turns the tokens of each step into
 * SSE events (streamed) or, at the end, one JSON body; applies the request's mid-stream faults. The
 * wire shapes are the encoder's: chunks.ts (chat, completions) or responses.ts (the Responses API).
 */
export class Generation implements SequenceListener {
  readonly #app: GenerationHost
  readonly #request: GenerationRequest
  readonly #faults: FaultPlan
  readonly #init: GenerationInit
  readonly #output: OutputText
  readonly #model: string
  /** The engine's finish reason (`/metrics` label): `length` when the client set the limit, else `stop`. */
  readonly #engineFinish: string
  /** The answer is a tool call: tools were given and the limit leaves tokens after the reasoning. */
  readonly #calls: boolean
  /** The API's finish reason: a tool call ends as `tool_calls` (`stop` for a named function), else as the engine's. */
  readonly #finishReason: string
  #encoder: StreamEncoder | undefined
  #sink: StreamSink | undefined
  #resolve: ((reply: MockReply) => void) | undefined
  #stalled = false
  #malformedSent = false

  constructor(app: GenerationHost, request: GenerationRequest, faults: FaultPlan, init: GenerationInit) {
    this.#app = app
    this.#request = request
    this.#faults = faults
    this.#init = init
    this.#output = new OutputText(request.session, request.turn, init.reasoningTokens)
    this.#model = init.model
    this.#engineFinish = request.maxTokensGiven ? 'length' : 'stop'
    this.#calls = request.toolCall !== undefined && request.maxTokens > init.reasoningTokens
    // The call is complete (its arguments close on the last token), so it ends as a call does, whatever the limit.
    this.#finishReason = this.#calls ? (request.toolCall!.named ? 'stop' : 'tool_calls') : this.#engineFinish
  }

  #submit(): Sequence {
    return this.#app.engine.submit({
      promptTokens: this.#request.promptTokens,
      maxTokens: this.#request.maxTokens,
      tokensPerChunk: this.#init.tokensPerChunk,
      listener: this,
    })
  }

  #newEncoder(): StreamEncoder {
    const request = this.#request
    const init = this.#init
    const created = Math.floor(Date.now() / 1000)
    const toolName = this.#calls ? request.toolCall!.name : undefined
    if (request.endpoint === 'responses') {
      return new ResponsesFormat({
        id: init.id,
        itemSuffix: init.idSuffix,
        created,
        model: this.#model,
        echo: request.responses!,
        maxOutputTokens: request.maxTokens,
        // A tool call is complete; a message the limit ended is not.
        status: this.#calls || !request.maxTokensGiven ? 'completed' : 'incomplete',
        tags: init.reasoningField === 'tags',
        toolCall: toolName === undefined ? undefined : { name: toolName },
      })
    }
    return new ChunkFormat({
      endpoint: request.endpoint,
      id: init.id,
      created,
      model: this.#model,
      promptTokens: request.promptTokens.length,
      includeUsage: request.includeUsage,
      continuousUsage: request.continuousUsage,
      finishReason: this.#finishReason,
      reasoningField: init.reasoningField,
      reasoningTokens: init.reasoningTokens,
      toolCall: toolName === undefined ? undefined : { id: this.#toolCallId(), name: toolName },
    })
  }

  #toolCallId(): string {
    return `chatcmpl-tool-${this.#init.idSuffix}`
  }

  /** Starts a streamed response; returns the cancel function for a client that goes away. */
  stream(sink: StreamSink): () => void {
    if (this.#faults.dropAfterTokens === 0) {
      sink.destroy()
      return () => {}
    }
    this.#sink = sink
    const encoder = (this.#encoder = this.#newEncoder())
    const opening = encoder.open()
    if (opening !== '') {
      sink.write(opening)
      this.#app.countChunks(encoder.takeEvents())
    }
    const seq = this.#submit()
    return () => this.#app.engine.cancel(seq)
  }

  /** Runs a non-streamed request to the end. */
  whole(signal: AbortSignal | undefined): Promise<MockReply> {
    return new Promise((resolve) => {
      this.#resolve = resolve
      const seq = this.#submit()
      signal?.addEventListener(
        'abort',
        () => {
          this.#app.engine.cancel(seq)
          resolve({ kind: 'drop' })
        },
        { once: true },
      )
    })
  }

  onTokens(seq: Sequence, count: number): void {
    const first = seq.generated === count
    if (first) this.#app.metrics.observeTtft((performance.now() - this.#init.receivedAt) / 1000)
    const faults = this.#faults
    const sink = this.#sink
    if (sink) {
      const encoder = this.#encoder!
      const done = seq.done
      let data = encoder.step(this.#output.step(count), seq.generated, done)
      if (
        faults.malformedAfterTokens !== undefined &&
        !this.#malformedSent &&
        seq.generated >= faults.malformedAfterTokens
      ) {
        this.#malformedSent = true
        data += encoder.malformed()
      }
      if (faults.dropAfterTokens !== undefined && seq.generated >= faults.dropAfterTokens) {
        sink.write(data)
        this.#app.countChunks(encoder.takeEvents())
        sink.destroy()
        this.#app.engine.cancel(seq)
        return
      }
      if (done) {
        data += encoder.finish(this.#usage(seq), !faults.noDone)
        sink.write(data)
        this.#app.countChunks(encoder.takeEvents())
        sink.end()
        this.#app.metrics.requestSucceeded(this.#engineFinish)
        return
      }
      sink.write(data)
      this.#app.countChunks(encoder.takeEvents())
    } else {
      if (faults.dropAfterTokens !== undefined && seq.generated >= faults.dropAfterTokens) {
        this.#app.engine.cancel(seq)
        this.#resolve?.({ kind: 'drop' })
        return
      }
      if (seq.done) {
        this.#resolve?.(this.#wholeReply(seq))
        this.#app.metrics.requestSucceeded(this.#engineFinish)
        return
      }
    }
    if (faults.stallMs !== undefined && !this.#stalled && seq.generated >= (faults.stallAfterTokens ?? 1)) {
      this.#stalled = true
      seq.pausedUntil = performance.now() + faults.stallMs
    }
  }

  /**
   * The generated tokens, cached after the prompt: the text as emitted, so that a follow-up turn that sends
   * it back hits the cache through it. A tool call is cached as the template renders a call sent back.
   */
  outputTokenIds(seq: Sequence): number[] {
    const step = new OutputText(this.#request.session, this.#request.turn, this.#init.reasoningTokens).step(seq.generated)
    const reasoning = this.#init.reasoningField === 'tags' ? thinkText(step) : step.reasoning
    if (!this.#calls) return tokenizeInto(reasoning + step.answer, [])
    const tokens = tokenizeInto(reasoning, [])
    return tokenizeInto(toolCallText(this.#request.toolCall!.name, ARGS_OPEN + step.answer + ARGS_CLOSE), tokens)
  }

  #usage(seq: Sequence): Usage {
    const r = Math.min(this.#init.reasoningTokens, seq.generated)
    const tags = this.#init.reasoningField === 'tags'
    // With tags the server has no reasoning parser: it cannot tell reasoning tokens apart (vLLM reports
    // completion_tokens_details only with a parser). The Responses API always has output_tokens_details.
    const reasoningTokens =
      this.#request.endpoint === 'responses' ? (tags ? 0 : r) : r > 0 && !tags ? r : undefined
    return {
      promptTokens: this.#request.promptTokens.length,
      completionTokens: seq.generated,
      cachedTokens: seq.cachedTokens,
      reasoningTokens,
    }
  }

  #wholeReply(seq: Sequence): MockReply {
    // Non-streamed: nothing was taken from the output yet.
    const step = this.#output.step(seq.generated)
    const request = this.#request
    let body: string
    if (request.endpoint === 'responses') {
      // The same encoder as a stream, fed the whole answer as one step, gives the same output items.
      const format = this.#newEncoder() as ResponsesFormat
      format.step(step, seq.generated, true)
      body = format.body(this.#usage(seq))
    } else {
      const tags = this.#init.reasoningField === 'tags'
      const think = tags ? thinkText(step) : ''
      const name = this.#calls ? request.toolCall!.name : undefined
      body = completionBody({
        endpoint: request.endpoint,
        id: this.#init.id,
        created: Math.floor(Date.now() / 1000),
        model: this.#model,
        reasoning: tags ? '' : step.reasoning,
        reasoningField: this.#init.reasoningField,
        content: name === undefined ? think + step.answer : think === '' ? null : think,
        toolCall:
          name === undefined ? undefined : { id: this.#toolCallId(), name, arguments: ARGS_OPEN + step.answer + ARGS_CLOSE },
        finishReason: this.#finishReason,
        usage: this.#usage(seq),
      })
    }
    // A non-streamed response has no chunks to break: the malformed fault cuts its JSON short.
    if (this.#faults.malformedAfterTokens !== undefined) body = body.slice(0, Math.floor(body.length / 2))
    return { kind: 'body', status: 200, headers: JSON_HEADERS, body }
  }
}
