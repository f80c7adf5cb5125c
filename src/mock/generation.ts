/**
 * One accepted generation request, from engine tokens to bytes on the wire.
 */

import { ChunkFormat, DONE_EVENT, JSON_HEADERS, completionBody } from './chunks.ts'
import type { Engine, Sequence, SequenceListener } from './engine.ts'
import type { FaultPlan } from './faults.ts'
import type { MockMetrics } from './metrics.ts'
import type { GenerationRequest } from './openaiRequest.ts'
import { OutputText } from './output.ts'
import { tokenize } from './tokenizer.ts'
import type { MockReply, StreamSink } from './types.ts'

export interface GenerationInit {
  id: string
  /** The model name the response carries. */
  model: string
  tokensPerChunk: number
  reasoningTokens: number
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
 * SSE chunks (streamed) or, at the end, one JSON body; applies the request's mid-stream faults.
 */
export class Generation implements SequenceListener {
  readonly #app: GenerationHost
  readonly #request: GenerationRequest
  readonly #faults: FaultPlan
  readonly #init: GenerationInit
  readonly #output: OutputText
  readonly #model: string
  readonly #finishReason: string
  #format: ChunkFormat | undefined
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
    this.#finishReason = request.maxTokensGiven ? 'length' : 'stop'
  }

  #submit(): Sequence {
    return this.#app.engine.submit({
      promptTokens: this.#request.promptTokens,
      maxTokens: this.#request.maxTokens,
      tokensPerChunk: this.#init.tokensPerChunk,
      listener: this,
    })
  }

  /** Starts a streamed response; returns the cancel function for a client that goes away. */
  stream(sink: StreamSink): () => void {
    if (this.#faults.dropAfterTokens === 0) {
      sink.destroy()
      return () => {}
    }
    this.#sink = sink
    this.#format = new ChunkFormat({
      endpoint: this.#request.endpoint,
      id: this.#init.id,
      created: Math.floor(Date.now() / 1000),
      model: this.#model,
      promptTokens: this.#request.promptTokens.length,
      continuousUsage: this.#request.continuousUsage,
    })
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
      const format = this.#format!
      const done = seq.done
      const { reasoning, content } = this.#output.take(count)
      let data = format.tokens(reasoning, content, seq.generated, done ? this.#finishReason : null)
      let events = 1
      if (first && this.#request.endpoint === 'chat') {
        data = format.role() + data
        events++
      }
      if (
        faults.malformedAfterTokens !== undefined &&
        !this.#malformedSent &&
        seq.generated >= faults.malformedAfterTokens
      ) {
        this.#malformedSent = true
        data += format.malformed()
        events++
      }
      if (faults.dropAfterTokens !== undefined && seq.generated >= faults.dropAfterTokens) {
        sink.write(data)
        this.#app.countChunks(events)
        sink.destroy()
        this.#app.engine.cancel(seq)
        return
      }
      if (done) {
        if (this.#request.includeUsage) {
          data += format.usage(this.#usage(seq))
          events++
        }
        if (!faults.noDone) {
          data += DONE_EVENT
          events++
        }
        sink.write(data)
        this.#app.countChunks(events)
        sink.end()
        this.#app.metrics.requestSucceeded(this.#finishReason)
        return
      }
      sink.write(data)
      this.#app.countChunks(events)
    } else {
      if (faults.dropAfterTokens !== undefined && seq.generated >= faults.dropAfterTokens) {
        this.#app.engine.cancel(seq)
        this.#resolve?.({ kind: 'drop' })
        return
      }
      if (seq.done) {
        this.#resolve?.(this.#wholeReply(seq))
        this.#app.metrics.requestSucceeded(this.#finishReason)
        return
      }
    }
    if (faults.stallMs !== undefined && !this.#stalled && seq.generated >= (faults.stallAfterTokens ?? 1)) {
      this.#stalled = true
      seq.pausedUntil = performance.now() + faults.stallMs
    }
  }

  outputTokenIds(seq: Sequence): number[] {
    const text = new OutputText(this.#request.session, this.#request.turn, this.#init.reasoningTokens).take(
      seq.generated,
    )
    return tokenize(text.reasoning + text.content)
  }

  #usage(seq: Sequence) {
    return {
      promptTokens: this.#request.promptTokens.length,
      completionTokens: seq.generated,
      cachedTokens: seq.cachedTokens,
    }
  }

  #wholeReply(seq: Sequence): MockReply {
    // Non-streamed: nothing was taken from the output yet.
    const text = this.#output.take(seq.generated)
    let body = completionBody({
      endpoint: this.#request.endpoint,
      id: this.#init.id,
      created: Math.floor(Date.now() / 1000),
      model: this.#model,
      reasoning: text.reasoning,
      content: text.content,
      finishReason: this.#finishReason,
      usage: this.#usage(seq),
    })
    // A non-streamed response has no chunks to break: the malformed fault cuts its JSON short.
    if (this.#faults.malformedAfterTokens !== undefined) body = body.slice(0, Math.floor(body.length / 2))
    return { kind: 'body', status: 200, headers: JSON_HEADERS, body }
  }
}
