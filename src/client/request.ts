import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import { sentOnReusedConnection } from './http1Pool.ts'
import type { BytesHandler, FreshDispatchOptions, RequestDispatcher } from './http1Pool.ts'
import type { Tokenizer } from '../tokens/index.ts'
import type { ChatMessage, ErrorKind, RequestRecord } from '../types.ts'
import { turnTime } from './turnClock.ts'
import { listenForAbort, sleep, stopListening } from './abortFanOut.ts'
import type { AbortSubscription } from './abortFanOut.ts'
import { deferPastIo } from './deferPastIo.ts'
import { printable } from '../printable.ts'
import { redactSecrets } from './endpoint.ts'
import type { Endpoint } from './endpoint.ts'
import { classifyError, kindOfStatus, RequestFailure } from './errors.ts'
import { BodyDecoder, contentCodingOf } from './contentEncoding.ts'
import type { DecodedSink } from './contentEncoding.ts'
import { buildPayload, decodeChunk } from './openai.ts'
import type { ApiKind, ChunkInfo, GenerationOptions, RequestTools } from './openai.ts'
import { newFastChunkFields, readFastChunk } from './fastChunk.ts'
import { SseParser } from './sse.ts'
import type { SseSink } from './sse.ts'

/** Identity of a request inside a workload (copied into its record). */
export type RequestMeta = Pick<RequestRecord, 'id' | 'index' | 'sessionId' | 'turnIndex' | 'round' | 'concurrency' | 'scheduledAt'> & {
  /** `max_tokens` of this request, instead of the context's (a trace gives each request its own output length). */
  maxTokens?: number
  /** Tools offered with this request (a dataset row's `tools` / `tool_choice`). */
  tools?: RequestTools
}

/** Everything one request needs besides its messages. */
export interface RequestContext {
  dispatcher: RequestDispatcher
  /** Origin-relative path of the endpoint, e.g. `/v1/chat/completions`. */
  path: string
  /** The full URL, for messages. */
  url: string
  kind: ApiKind
  headers: Record<string, string>
  generation: GenerationOptions
  /** Whole-request limit in ms (also the stalled-stream guard). */
  timeoutMs: number
  /** Open a new connection for this request (`connection: close`). */
  closeConnection: boolean
  /** Counts tokens when the server reports no usage. */
  tokenizer: Tokenizer
  /** Retries of 429 responses, honouring Retry-After. @default 0 */
  retries?: number
  /** Stops the request early (interruption). */
  signal?: AbortSignal
  /** Values redacted from every failure message (API key, Authorization, secret headers). */
  secrets?: readonly string[]
}

/**
 * The context for requests to an opened endpoint: its pool, path, API, headers, timeout, keep-alive and
 * secrets, plus what to generate and how to count tokens.
 */
export function requestContext(
  endpoint: Endpoint,
  generation: GenerationOptions,
  tokenizer: Tokenizer,
  extra: Pick<RequestContext, 'retries' | 'signal'> = {},
): RequestContext {
  return {
    dispatcher: endpoint.dispatcher,
    path: endpoint.path,
    url: endpoint.url,
    kind: endpoint.kind,
    headers: endpoint.headers,
    generation,
    timeoutMs: endpoint.timeoutMs,
    closeConnection: !endpoint.keepAlive,
    tokenizer,
    secrets: endpoint.secrets,
    ...extra,
  }
}

/** Largest error body kept in a message. */
const MAX_ERROR_BODY = 300
/**
 * Most bytes of generated text (or of a whole JSON answer) a response may carry: above any real answer
 * (128k tokens are ~0.5 MB), and small enough that counting it when the server reports no usage holds the
 * event loop for seconds at worst, not minutes. Past it the request fails as `response_too_large`.
 */
export const MAX_RESPONSE_TEXT_BYTES = 2 * 1024 * 1024
/** Longest Retry-After honoured, so a misbehaving server cannot park the run. */
const MAX_RETRY_AFTER_MS = 60_000

/** Sends one request and measures it. Never throws: failures become a record with `ok: false`. */
export function sendRequest(ctx: RequestContext, messages: readonly ChatMessage[], meta: RequestMeta): Promise<RequestRecord> {
  return new Promise<RequestRecord>((resolve, reject) => {
    new Exchange(ctx, messages, meta, 0, resolve, reject).start()
  })
}

type Failure = { kind: ErrorKind; message: string }

/** How the response body is read, decided by its status and content-type. */
type BodyMode = 'sse' | 'json' | 'error' | 'bad'

/** Content-types, matched case-insensitively (`Text/Event-Stream; charset=UTF-8` is an event stream). */
const EVENT_STREAM = /text\/event-stream/i
const JSON_TYPE = /json/i

/**
 * One attempt at a request, as a dispatch handler (Http1Pool's in-place bytes for http://, undici's for
 * https://): body bytes are stamped with their loop turn's receive time (turnClock.ts) and parsed in
 * the data callback, with no stream object or async iterator per request. Settles at `[DONE]` (the
 * rest of the body drains in the background, returning the connection to the pool), at the end of
 * the body, or on the first failure; a 429 is retried as a new attempt when retries are allowed.
 *
 * One object with its methods on the prototype, not closures: 1,000 requests in flight are live while
 * their tokens stream, and the young-generation GC copies what each holds
 * (docs/design/http-client.md#one-object-per-request).
 */
class Exchange implements BytesHandler, SseSink, DecodedSink {
  private readonly ctx: RequestContext
  private readonly messages: readonly ChatMessage[]
  private readonly meta: RequestMeta
  /** Attempts before this one (429 retries). */
  private readonly retries: number
  private readonly resolve: (record: RequestRecord) => void
  /** Only for a bug while building the record (a throwing tokenizer): the promise must still settle. */
  private readonly reject: (error: unknown) => void
  private readonly state: ResponseState
  private readonly parser = new SseParser(this)
  /**
   * The clock starts when the request is about to be written (onRequestStart), so a wait for a
   * connection (or its set-up on a cold pool) is reported as queuedMs and never pollutes TTFT. Until
   * then (a request that fails before it is written) it is the moment it was handed to the pool.
   */
  private dispatchedAt = 0
  private t0 = 0
  private startedAt = 0
  private settled = false
  private status: number | null = null
  private retryAfterMs: number | undefined = undefined
  private mode: BodyMode = 'error'
  /** The content-type, kept only when it is the problem (a slice would keep the whole response head). */
  private unexpectedType = ''
  /** A redirect's Location (3xx), for its failure message. */
  private location: string | undefined = undefined
  /** A JSON or error body, as its bytes (a character may be split between two reads); none for a stream. */
  private collected: Buffer[] | null = null
  private collectedBytes = 0
  /** Decodes a body the server compressed (Content-Encoding); null for the usual identity body. */
  private decoder: BodyDecoder | null = null
  /** When the (compressed) body ended, while its last bytes are still being decoded. */
  private bodyEndedAt = 0
  private controller: Dispatcher.DispatchController | null = null
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** Its place on the run signal's list of requests to abort. */
  private subscription: AbortSubscription | null = null
  /** The request body, kept until the response begins in case it must be re-sent (see resend). */
  private body: string | undefined = undefined
  /** Re-sent once on a fresh connection after its reused one closed before answering. */
  private resent = false
  /** The request got a connection and was written (onRequestStart went through). */
  private written = false

  constructor(
    ctx: RequestContext,
    messages: readonly ChatMessage[],
    meta: RequestMeta,
    retries: number,
    resolve: (record: RequestRecord) => void,
    reject: (error: unknown) => void,
  ) {
    this.ctx = ctx
    this.messages = messages
    this.meta = meta
    this.retries = retries
    this.resolve = resolve
    this.reject = reject
    this.state = new ResponseState(meta.maxTokens ?? ctx.generation.maxTokens, ctx.generation.reasoningTags === true)
  }

  start(): void {
    const { ctx } = this
    let body: string | undefined
    let unbuildable: unknown
    try {
      body = buildPayload(ctx.kind, this.messages, this.meta.maxTokens === undefined ? ctx.generation : { ...ctx.generation, maxTokens: this.meta.maxTokens }, this.meta.tools)
    } catch (error) {
      unbuildable = error
    }
    // After the body is built (a long prompt takes milliseconds to serialise), so queuedMs is the
    // wait for a connection alone.
    this.dispatchedAt = this.t0 = performance.now()
    this.startedAt = performance.timeOrigin + this.t0
    this.timer = setTimeout(timeOut, ctx.timeoutMs, this)
    if (body === undefined) return this.finish(classifyError(unbuildable, ctx.url))
    if (ctx.signal?.aborted) return this.handleEvent()
    if (ctx.signal) this.subscription = listenForAbort(ctx.signal, this)
    this.body = body
    this.dispatch(false)
  }

  private dispatch(freshConnection: boolean): void {
    const { ctx } = this
    const options: FreshDispatchOptions = {
      path: ctx.path,
      method: 'POST',
      headers: ctx.headers,
      body: this.body,
      reset: ctx.closeConnection,
      headersTimeout: ctx.timeoutMs,
      bodyTimeout: ctx.timeoutMs,
    }
    if (freshConnection) options.freshConnection = true
    try {
      ctx.dispatcher.dispatch(options, this)
    } catch (error) {
      this.finish(classifyError(error, ctx.url))
    }
  }

  /**
   * A server may close an idle connection just as a request goes out on it (its idle timeout, or a
   * close after every response while it advertises keep-alive): the request was never seen, so it is
   * sent again, once, on a new connection, and timed from the first send. Over undici (https://) the
   * controller does not say whether the connection was reused; a close before any byte is re-sent there too.
   * See docs/design/http-client.md#connections-pooling-and-reuse
   */
  private shouldResend(controller: Dispatcher.DispatchController | undefined, error: Error): boolean {
    if (this.resent || this.settled || this.status !== null || this.body === undefined) return false
    if (sentOnReusedConnection(controller) === false || this.ctx.signal?.aborted) return false
    return classifyError(error, this.ctx.url).kind === 'server_disconnected'
  }

  /** The run's signal fired (this object is its abort listener). */
  handleEvent(): void {
    this.abort({ kind: 'interrupted', message: 'interrupted before the response completed' })
  }

  timeOut(): void {
    this.abort({ kind: 'timeout', message: `no complete response within --timeout ${this.ctx.timeoutMs / 1000} s` })
  }

  abort(failure: Failure): void {
    this.finish(failure)
    this.controller?.abort(new RequestFailure(failure.kind, failure.message))
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    // Timed out or interrupted while waiting for a connection: never send it.
    if (this.settled) {
      controller.abort(new RequestFailure('interrupted', 'given up before it was sent'))
      return
    }
    this.written = true
    // A re-send keeps the first send's clock.
    if (this.resent) return
    this.t0 = performance.now()
    this.startedAt = performance.timeOrigin + this.t0
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.status = statusCode
    this.body = undefined
    const contentType = String(headers['content-type'] ?? '')
    this.location = undefined
    if (statusCode < 200 || statusCode > 299) {
      this.mode = 'error'
      this.retryAfterMs = parseRetryAfter(headers['retry-after'])
      if (statusCode >= 300 && statusCode <= 399) this.location = firstValue(headers['location']) ?? ''
    } else if ((this.ctx.generation.stream ?? true) && EVENT_STREAM.test(contentType)) this.mode = 'sse'
    else if (JSON_TYPE.test(contentType)) this.mode = 'json'
    else {
      this.mode = 'bad'
      this.unexpectedType = contentType || 'none'
    }
    // undici hands interim responses (103 Early Hints) to this callback too: only a final one has a body.
    if (statusCode >= 200) this.startDecoding(headers['content-encoding'])
  }

  /** A compressed body is decoded (contentEncoding.ts); an identity one, the usual case, goes on as it is. */
  private startDecoding(header: string | string[] | undefined): void {
    this.decoder?.close()
    this.decoder = null
    const coding = contentCodingOf(header)
    if (coding === null) return
    if (typeof coding === 'string') {
      this.decoder = new BodyDecoder(coding, this)
      return
    }
    const unsupported = `content-encoding "${coding.unsupported}" (fluxperf sends no Accept-Encoding and decodes only gzip, deflate and br)`
    this.abort(this.mode === 'error'
      ? { kind: kindOfStatus(this.status ?? 0, ''), message: `HTTP ${this.status}, its body in unsupported ${unsupported}` }
      : { kind: 'bad_content_type', message: `unsupported ${unsupported}` })
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.onResponseBytes(controller, chunk, 0, chunk.length)
  }

  onResponseBytes(_controller: Dispatcher.DispatchController, buf: Buffer, start: number, end: number): void {
    if (this.settled) return
    // Stamped with the time this loop turn's I/O began (see turnClock.ts), so parsing here
    // does not make the stamps of later callbacks in a burst late.
    if (this.decoder !== null) this.decoder.write(buf, start, end, turnTime())
    else if (this.mode === 'sse') this.readEvents(buf, start, end, turnTime())
    else this.collect(buf, start, end)
  }

  /** Bytes of an event stream, as the server meant them (decoded, when it compressed them). */
  private readEvents(buf: Buffer, start: number, end: number, receivedAt: number): void {
    try {
      this.parser.pushRange(buf, start, end, receivedAt)
    } catch (error) {
      this.abort(classifyError(error, this.ctx.url))
      return
    }
    if (this.state.done) this.finish(undefined)
  }

  /** A JSON body is kept whole; an error body, its start. */
  private collect(buf: Buffer, start: number, end: number): void {
    if (this.mode !== 'json' && this.collectedBytes >= MAX_ERROR_BODY * 4) return
    if (this.collectedBytes + end - start > MAX_RESPONSE_TEXT_BYTES) {
      this.abort({ kind: 'response_too_large', message: `the JSON answer is over ${MAX_RESPONSE_TEXT_BYTES / (1024 * 1024)} MB` })
      return
    }
    ;(this.collected ??= []).push(Buffer.from(buf.subarray(start, end)))
    this.collectedBytes += end - start
  }

  onDecoded(buf: Buffer, receivedAt: number): void {
    if (this.settled) return
    if (this.mode === 'sse') this.readEvents(buf, 0, buf.length, receivedAt)
    else this.collect(buf, 0, buf.length)
  }

  onDecodedEnd(error: string | null): void {
    if (this.settled) return
    if (error === null) this.endBody(this.bodyEndedAt)
    else this.finish({ kind: 'malformed_stream', message: error })
  }

  onSseEvent(data: string, _event: string | undefined, receivedAt: number): void {
    this.state.addEvent(data, receivedAt - this.t0)
  }

  onSseBytes(buf: Buffer, start: number, end: number, receivedAt: number): boolean {
    return this.state.addEventBytes(buf, start, end, receivedAt - this.t0)
  }

  onResponseEnd(): void {
    if (this.settled) return
    const now = turnTime()
    if (this.decoder === null) return this.endBody(now)
    // The end counts from the last compressed byte, once what is still being decoded has been read.
    this.bodyEndedAt = now
    this.decoder.end()
  }

  /** The body ended at `now` (a receive stamp) and every byte of it has been read. */
  private endBody(now: number): void {
    const stream = this.ctx.generation.stream ?? true
    try {
      if (this.mode === 'sse') {
        this.parser.end(now)
        // A stream that finished (a finish_reason came) may end with its body rather than `[DONE]`.
        if (!this.state.done) this.state.endWithoutDone(now - this.t0)
      } else if (this.mode === 'json') {
        this.state.addWhole(this.collectedText(), now - this.t0)
        // A stream was asked for and one JSON body came: measured as a non-streamed answer, and said so.
        if (stream) this.state.streamed = false
      } else {
        const text = this.collectedText().slice(0, MAX_ERROR_BODY)
        if (this.mode === 'error') throw this.statusFailure(text)
        const expected = stream ? 'text/event-stream' : 'application/json'
        throw new RequestFailure('bad_content_type', `unexpected content-type "${this.unexpectedType}" (expected ${expected}): ${oneLine(text)}`)
      }
      this.finish(undefined)
    } catch (error) {
      this.finish(classifyError(error, this.ctx.url))
    }
  }

  private collectedText(): string {
    return this.collected === null ? '' : Buffer.concat(this.collected).toString('utf8')
  }

  /** A non-2xx answer. A redirect names where it points: fluxperf does not follow redirects (a POST's body would have to be re-sent). */
  private statusFailure(text: string): RequestFailure {
    const status = this.status ?? 0
    const body = text ? `: ${oneLine(text)}` : ''
    if (this.location === undefined) return new RequestFailure(kindOfStatus(status, text), `HTTP ${this.status}${body}`)
    const target = this.location ? `to ${resolveLocation(this.location, this.ctx.url)}` : 'without a Location header'
    return new RequestFailure('http_error', `HTTP ${status} redirect ${target}: fluxperf does not follow redirects of its POST requests; use the final URL as the endpoint${body}`)
  }

  onResponseError(controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (this.shouldResend(controller, error)) {
      this.resent = true
      this.controller = null
      this.dispatch(true)
      return
    }
    this.finish(classifyError(error, this.ctx.url))
  }

  /**
   * Settles once: a new attempt after a 429's wait, or the record. The record is built after the I/O
   * that is ready (deferPastIo.ts): when many streams end together, building and settling them (and
   * counting tokens, for a server that reports no usage) never delays the stamps of the others' chunks.
   * Its latency is fixed here, from the bytes' stamp. Why: docs/design/timing.md#deferred-records
   */
  private finish(failed: Failure | undefined): void {
    if (this.settled) return
    this.settled = true
    this.body = undefined
    this.decoder?.close()
    const { ctx, state } = this
    // A server may echo request headers in an error body, or put terminal escapes in it: neither gets through.
    const failure = failed && { kind: failed.kind, message: printable(ctx.secrets?.length ? redactSecrets(failed.message, ctx.secrets) : failed.message) }
    clearTimeout(this.timer)
    if (this.subscription) stopListening(this.subscription)
    if (failure?.kind === 'rate_limited' && this.retries < (ctx.retries ?? 0) && !ctx.signal?.aborted) {
      const attempt = this.retries + 1
      // Never longer than 60 s, nor than the request's own --timeout.
      void sleep(Math.min(MAX_RETRY_AFTER_MS, ctx.timeoutMs, this.retryAfterMs ?? 1000 * attempt), ctx.signal)
        .then(() => new Exchange(ctx, this.messages, this.meta, attempt, this.resolve, this.reject).start())
      return
    }
    const endedAt = state.doneOffset === null ? performance.now() : this.t0 + state.doneOffset
    const end = {
      startedAt: this.startedAt,
      latencyMs: endedAt - this.t0,
      queuedMs: this.t0 - this.dispatchedAt,
      status: this.status,
      failure,
      written: this.written,
    }
    // Cut by an interrupt, thousands may end at once: nothing is measured any more, so no deferral.
    if (ctx.signal?.aborted) this.settle(end)
    else deferPastIo(() => this.settle(end))
  }

  private settle(end: RecordEnd): void {
    const { state } = this
    // A long answer without usage is counted in slices that yield, so no answer can hold the loop.
    if (state.precountedOutput === null && state.outputNeedsCounting() && state.textByteLength > COUNT_LATER_BYTES) {
      this.ctx.tokenizer.countLater(state.countedText()).then((n) => {
        state.precountedOutput = n
        this.settle(end)
      }, this.reject)
      return
    }
    // Long reasoning the server did not count, likewise (vLLM's chat usage has no reasoning_tokens).
    if (state.precountedReasoning === null && state.reasoningNeedsCounting() && state.reasoningByteLength > COUNT_LATER_BYTES) {
      this.ctx.tokenizer.countLater(state.reasoningText).then((n) => {
        state.precountedReasoning = n
        this.settle(end)
      }, this.reject)
      return
    }
    let record: RequestRecord
    try {
      record = this.state.toRecord(this.ctx, this.messages, this.meta, end)
    } catch (error) {
      this.reject(error)
      return
    }
    if (this.retries > 0) record.retries = this.retries
    if (this.resent) record.resent = true
    this.resolve(record)
  }
}

/** What the exchange knows of a request's end when it settles. */
interface RecordEnd {
  startedAt: number
  latencyMs: number
  queuedMs: number
  status: number | null
  failure: Failure | undefined
  /** The request was written to a connection (false: it failed or was given up before). */
  written: boolean
}

function timeOut(exchange: Exchange): void {
  exchange.timeOut()
}

/** Reused by every stream: a chunk is read to the end before the next. */
const fast = newFastChunkFields()
const DONE = Buffer.from('[DONE]')

/**
 * Content chunks a response's arrays hold before they grow: its max_tokens (there are no more content
 * chunks than tokens), within bounds; unknown, a typical answer's.
 */
function chunkCapacity(maxTokens: number | undefined): number {
  return maxTokens === undefined ? 64 : Math.max(1, Math.min(1024, Math.floor(maxTokens)))
}

/** The values twice as many fit in (a stream longer than its max_tokens, or than 64 chunks when none was set). */
function doubled(values: Float64Array): Float64Array {
  const more = new Float64Array(values.length * 2)
  more.set(values)
  return more
}

/** The first `n` values, as the plain array a record holds. */
function leading(values: Float64Array, n: number): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(values[i] as number)
  return out
}

/** Which part of the output a content chunk belongs to. */
const ANSWER = 0
const REASONING = 1
type Phase = typeof ANSWER | typeof REASONING

/** `</think>`: where a reasoning model's thinking ends when it is streamed as content (--reasoning-tags). */
const THINK_END = '</think>'
const THINK_START = /^\s*<think>/

/**
 * Accumulates what the response said, chunk by chunk: the answer, the reasoning before it and tool calls,
 * each with the offset of its first chunk (definitions: docs/design/reasoning.md).
 */
class ResponseState {
  done = false
  /** Offset (ms from start) of the bytes that carried `[DONE]`: the end of the stream for latency. */
  doneOffset: number | null = null
  ttftMs: number | null = null
  /** Offset of the first answer chunk (content, completion text or a tool-call delta). */
  private ttfatMs: number | null = null
  /** Offset of the first reasoning chunk, and the content chunks before the first answer chunk. */
  private reasoningFirstMs: number | null = null
  private chunksBeforeAnswer = 0
  /** Distinct tool calls (their indices) and the offset of the first tool-call delta. */
  private toolCallIndices: number[] | null = null
  private firstToolCallMs = 0
  /**
   * Chunk offsets and tokens in typed arrays over bytes off the JS heap, allocated whole when the request
   * starts and copied to plain arrays of their length in the record. As JS arrays (grown by push, later
   * allocated whole for max_tokens) they were young, copied by the collections while the streams ran, then
   * promoted: 12 KB a stream at max_tokens 1,024, and the heap grew 21 MB in round 1's burst of 1,000
   * streams, 4 MB now (docs/design/timing.md#the-per-chunk-path).
   */
  private offsets: Float64Array
  private chunkTokens: Float64Array
  private chunks = 0
  private tokenChunks = 0
  /** Continuous usage stats seen on every content chunk so far. */
  private perChunkUsage = true
  private lastCompletionTokens = 0
  /** The answer's text as UTF-8 bytes: appending a token's bytes allocates nothing on the JS heap. */
  private readonly answer = new TextBytes()
  /** The reasoning's text, kept apart: history carries the answer only, and it is counted alone without usage. */
  private reasoning: TextBytes | null = null
  /** --reasoning-tags: the answer's content is reasoning until `</think>`; null when off or once past it. */
  private thinkTags: ThinkTags | null
  /** Output tokens counted before the record is built (countLater, for long usage-less answers). */
  precountedOutput: number | null = null
  /** Reasoning tokens counted likewise, when the server does not report them. */
  precountedReasoning: number | null = null
  /** Tool calls' names and argument fragments: output to count when the server reports no usage. */
  private toolText: TextBytes | null = null
  /** The answer came whole (not streamed): its phases have no times apart. */
  private whole = false
  finishReason: string | null = null
  promptTokens: number | null = null
  completionTokens: number | null = null
  cachedTokens: number | null = null
  reasoningTokens: number | null = null
  promptEvaluated: number | null = null
  /** The stream ended with its body after a finish chunk, without `[DONE]` (see endWithoutDone). */
  noDoneMarker = false
  /** false: a stream was asked for and one JSON body answered. */
  streamed = true

  constructor(maxTokens: number | undefined, reasoningTags: boolean) {
    const capacity = chunkCapacity(maxTokens)
    // Both arrays in one allocation; up to 255 chunks it is a slice of Node's shared buffer pool.
    const bytes = Buffer.allocUnsafe(capacity * 16)
    this.offsets = new Float64Array(bytes.buffer, bytes.byteOffset, capacity)
    this.chunkTokens = new Float64Array(bytes.buffer, bytes.byteOffset + capacity * 8, capacity)
    this.thinkTags = reasoningTags ? { pending: '', held: new TextBytes(), firstMs: null, firstChunk: 0 } : null
  }

  /**
   * An event's data in place (see SseBytesHandler): the common content-only chunk is read from its
   * bytes (fastChunk.ts); returns false for every other shape, which comes back through addEvent.
   */
  addEventBytes(buf: Buffer, start: number, end: number, offsetMs: number): boolean {
    if (this.done) return true
    if (end - start === DONE.length && buf.compare(DONE, 0, DONE.length, start, end) === 0) {
      this.done = true
      this.doneOffset = offsetMs
      return true
    }
    if (!readFastChunk(buf, start, end, fast)) return false
    if (fast.promptTokens >= 0) this.promptTokens = fast.promptTokens
    if (fast.completionTokens >= 0) this.completionTokens = fast.completionTokens
    if (fast.finishReason !== null) this.finishReason = fast.finishReason
    // Empty content (a stream's opening or finish chunk, a usage chunk) is no token.
    if (fast.textEnd === fast.textStart) return true
    if (this.thinkTags !== null) {
      this.addTagged(buf.toString('utf8', fast.textStart - 1, fast.textEnd + 1), fast.escaped, offsetMs, fast.completionTokens >= 0 ? fast.completionTokens : null)
      return true
    }
    if (fast.escaped) this.appendText(JSON.parse(buf.toString('utf8', fast.textStart - 1, fast.textEnd + 1)) as string)
    else this.appendBytes(buf, fast.textStart, fast.textEnd)
    this.addContent(offsetMs, fast.completionTokens >= 0 ? fast.completionTokens : null, ANSWER)
    return true
  }

  /** A content chunk read by the fast path while --reasoning-tags looks for `</think>`. */
  private addTagged(quoted: string, escaped: boolean, offsetMs: number, completionTokens: number | null): void {
    const text = escaped ? (JSON.parse(quoted) as string) : quoted.slice(1, -1)
    const phase = this.splitTagged(text, offsetMs)
    this.addContent(offsetMs, completionTokens, phase)
  }

  addEvent(data: string, offsetMs: number): void {
    if (this.done) return
    if (data === '[DONE]') {
      this.done = true
      this.doneOffset = offsetMs
      return
    }
    let info: ChunkInfo
    try {
      info = decodeChunk(data)
    } catch {
      throw new RequestFailure('malformed_stream', `invalid JSON in stream: ${oneLine(data.slice(0, 120))}`)
    }
    if (info.errorMessage !== null) throw new RequestFailure('http_error', `error in stream: ${oneLine(info.errorMessage)}`)
    const phase = this.absorb(info, offsetMs)
    if (info.hasContent) this.addContent(offsetMs, info.completionTokens, phase)
    // The Responses API ends with response.completed (there is no [DONE]).
    if (info.done) {
      this.done = true
      this.doneOffset = offsetMs
    }
  }

  /** A chunk that carried output: its time and phase, and its tokens when usage is reported on every chunk. */
  private addContent(offsetMs: number, completionTokens: number | null, phase: Phase): void {
    if (this.ttftMs === null) this.ttftMs = offsetMs
    if (phase === ANSWER) {
      if (this.ttfatMs === null) {
        this.ttfatMs = offsetMs
        this.chunksBeforeAnswer = this.chunks
      }
    }
    this.addOffset(offsetMs)
    if (completionTokens !== null) {
      const tokens = Math.max(1, completionTokens - this.lastCompletionTokens)
      if (this.tokenChunks === this.chunkTokens.length) this.chunkTokens = doubled(this.chunkTokens)
      this.chunkTokens[this.tokenChunks++] = tokens
      this.lastCompletionTokens = completionTokens
    } else {
      this.perChunkUsage = false
    }
  }

  /**
   * The event stream's body ended without `data: [DONE]`. After a chunk with a finish_reason the answer is
   * complete (some servers and proxies never send the marker): the end of the body is the end of the
   * stream for latency. Without one, the stream was cut short.
   */
  endWithoutDone(offsetMs: number): void {
    if (this.finishReason === null) throw new RequestFailure('incomplete_stream', 'stream ended without data: [DONE] (and no chunk with a finish_reason came)')
    this.done = true
    this.doneOffset = offsetMs
    this.noDoneMarker = true
  }

  /** A non-streamed response: the first byte arrives with the whole answer, so TTFT = latency. */
  addWhole(json: string, offsetMs: number): void {
    let info: ChunkInfo
    try {
      info = decodeChunk(json)
    } catch {
      throw new RequestFailure('malformed_stream', `invalid JSON response: ${oneLine(json.slice(0, 120))}`)
    }
    if (info.errorMessage !== null) throw new RequestFailure('http_error', `error in response: ${oneLine(info.errorMessage)}`)
    this.absorb(info, offsetMs)
    this.whole = true
    if (info.hasContent) {
      this.ttftMs = offsetMs
      if (this.answer.length > 0 || this.toolCallIndices !== null) this.ttfatMs = offsetMs
      this.addOffset(offsetMs)
    }
    this.done = true
    // Its end is the same stamp: latency = TTFT.
    this.doneOffset = offsetMs
  }

  private addOffset(offsetMs: number): void {
    if (this.chunks === this.offsets.length) this.offsets = doubled(this.offsets)
    this.offsets[this.chunks++] = offsetMs
  }

  /** Takes in a decoded chunk's text and counts; returns its phase: reasoning when it carries reasoning and no answer. */
  private absorb(info: ChunkInfo, offsetMs: number): Phase {
    let phase: Phase = ANSWER
    if (info.reasoning) {
      // The server separates reasoning itself (a reasoning parser): content is the answer, tags or not.
      if (this.thinkTags !== null) this.stopTags()
      this.appendReasoning(info.reasoning, offsetMs)
      phase = REASONING
    }
    if (info.text) {
      if (this.thinkTags !== null) phase = this.splitTagged(info.text, offsetMs)
      else {
        this.appendText(info.text)
        phase = ANSWER
      }
    }
    if (info.toolCalls !== null) {
      if (this.toolCallIndices === null) {
        this.toolCallIndices = []
        this.firstToolCallMs = offsetMs
      }
      for (const i of info.toolCalls) if (!this.toolCallIndices.includes(i)) this.toolCallIndices.push(i)
      if (info.toolText) {
        this.reserve(Buffer.byteLength(info.toolText))
        ;(this.toolText ??= new TextBytes()).append(info.toolText)
      }
      phase = ANSWER
    }
    if (info.finishReason !== null) this.finishReason = info.finishReason
    if (info.promptTokens !== null) this.promptTokens = info.promptTokens
    if (info.completionTokens !== null) this.completionTokens = info.completionTokens
    if (info.cachedTokens !== null) this.cachedTokens = info.cachedTokens
    if (info.reasoningTokens !== null) this.reasoningTokens = info.reasoningTokens
    if (info.promptEvaluated !== null) this.promptEvaluated = info.promptEvaluated
    return phase
  }

  /**
   * --reasoning-tags: content up to `</think>` is reasoning (the opening `<think>` may be absent: DeepSeek-R1's
   * template opens it in the prompt), the rest is the answer. A closing tag split over chunks is held back
   * until it is whole. Returns the chunk's phase: the answer once any answer text came.
   */
  private splitTagged(text: string, offsetMs: number): Phase {
    const tags = this.thinkTags
    if (tags === null) {
      this.appendText(text)
      return ANSWER
    }
    if (tags.firstMs === null) {
      tags.firstMs = offsetMs
      // This chunk's offset is added next (addContent): its index is the count so far.
      tags.firstChunk = this.chunks
    }
    const seen = tags.pending + text
    const end = seen.indexOf(THINK_END)
    if (end < 0) {
      // Hold back a tail that may be the start of `</think>`.
      let keep = Math.min(THINK_END.length - 1, seen.length)
      while (keep > 0 && !THINK_END.startsWith(seen.slice(seen.length - keep))) keep--
      tags.pending = seen.slice(seen.length - keep)
      this.reserve(seen.length - keep)
      tags.held.append(seen.slice(0, seen.length - keep))
      return REASONING
    }
    tags.held.append(seen.slice(0, end))
    this.thinkTags = null
    const thought = tags.held.toString().replace(THINK_START, '')
    // An empty block (Qwen3 with thinking off writes `<think>\n\n</think>`) is no reasoning.
    if (thought.trim() !== '') this.appendReasoning(thought, tags.firstMs)
    const after = seen.slice(end + THINK_END.length)
    if (after.length === 0) return REASONING
    this.appendText(after)
    return ANSWER
  }

  /** Reasoning text; its first piece stamps the start of reasoning (even in a chunk that also starts the answer). */
  private appendReasoning(text: string, offsetMs: number): void {
    this.reserve(Buffer.byteLength(text))
    ;(this.reasoning ??= new TextBytes()).append(text)
    if (this.reasoningFirstMs === null) this.reasoningFirstMs = offsetMs
  }

  private appendText(text: string): void {
    this.reserve(Buffer.byteLength(text))
    this.answer.append(text)
  }

  private appendBytes(buf: Buffer, start: number, end: number): void {
    this.reserve(end - start)
    this.answer.appendBytes(buf, start, end)
  }

  /** The answer and reasoning together stay under MAX_RESPONSE_TEXT_BYTES. */
  private reserve(n: number): void {
    if (this.textByteLength + n > MAX_RESPONSE_TEXT_BYTES) throw new RequestFailure('response_too_large', `the generated text is over ${MAX_RESPONSE_TEXT_BYTES / (1024 * 1024)} MB`)
  }

  get textByteLength(): number {
    return this.answer.length + (this.reasoning?.length ?? 0) + (this.toolText?.length ?? 0)
  }

  get reasoningByteLength(): number {
    return this.reasoning?.length ?? 0
  }

  /** Everything generated, for a count when the server reports none: reasoning, answer and tool calls. */
  countedText(): string {
    return this.reasoningText + this.text + (this.toolText?.toString() ?? '')
  }

  /** Reasoning text arrived and the server gave no usable count of it (see toRecord). */
  reasoningNeedsCounting(): boolean {
    return this.reasoning !== null && this.reasoning.length > 0 && (this.reasoningTokens === null || this.reasoningTokens === 0 || !plausibleCount(this.reasoningTokens))
  }

  /**
   * A chunk carried a reasoning field while --reasoning-tags was looking for `</think>`: the server has a reasoning
   * parser, so what the tags held back as reasoning was answer content.
   */
  private stopTags(): void {
    const tags = this.thinkTags as ThinkTags
    this.thinkTags = null
    const held = tags.held.toString() + tags.pending
    if (held === '') return
    this.answer.append(held)
    if (this.ttfatMs === null) {
      this.ttfatMs = tags.firstMs
      this.chunksBeforeAnswer = tags.firstChunk
    }
  }


  /** The server gave no believable output-token count: the tokenizer must count the text. */
  outputNeedsCounting(): boolean {
    return this.completionTokens === null || !plausibleCount(this.completionTokens)
  }

  /** The answer's text (reasoning excluded). */
  get text(): string {
    return this.answer.toString()
  }

  get reasoningText(): string {
    return this.reasoning?.toString() ?? ''
  }

  /**
   * --reasoning-tags on an answer that never closed `</think>` and never opened `<think>`: the model did not
   * think (a non-reasoning answer), so what was held as reasoning is the answer.
   */
  private untagUnthought(): void {
    const tags = this.thinkTags
    if (tags === null) return
    const held = tags.held.toString() + tags.pending
    if (held === '') return
    if (THINK_START.test(held)) {
      // Thinking cut short (max_tokens, an error): all of it was reasoning, and no answer came.
      this.thinkTags = null
      this.appendReasoning(held.replace(THINK_START, ''), tags.firstMs as number)
      return
    }
    this.stopTags()
  }

  toRecord(
    ctx: RequestContext,
    messages: readonly ChatMessage[],
    meta: RequestMeta,
    end: RecordEnd,
  ): RequestRecord {
    this.untagUnthought()
    // Implausible usage (negative, fractional, 1e308) is not believed: the tokenizer counts instead.
    const usageRejected = !plausibleCount(this.promptTokens) || !plausibleCount(this.completionTokens)
    if (!plausibleCount(this.promptTokens)) this.promptTokens = null
    if (!plausibleCount(this.completionTokens)) this.completionTokens = null
    if (!plausibleCount(this.reasoningTokens)) this.reasoningTokens = null
    const inputFromUsage = this.promptTokens !== null
    const outputFromUsage = this.completionTokens !== null
    // A request never written is not counted (thousands of them end at once when a run is interrupted
    // with a long queue, and each count of a long prompt takes milliseconds).
    const inputTokens = this.promptTokens ?? (end.written ? messages.reduce((n, m) => n + ctx.tokenizer.count(m.content), 0) : 0)
    const text = this.text
    const reasoningText = this.reasoningText
    const outputTokens = this.completionTokens ?? this.precountedOutput ?? ctx.tokenizer.count(this.countedText())
    let cachedTokens: number | null = null
    let cachedTokenSource: RequestRecord['cachedTokenSource']
    if (this.cachedTokens !== null) {
      cachedTokens = this.cachedTokens
      cachedTokenSource = 'usage'
    } else if (this.promptEvaluated !== null && this.promptTokens !== null) {
      // llama.cpp evaluates at least one token even on a full hit, and reports the evaluated count.
      cachedTokens = Math.max(0, this.promptTokens - this.promptEvaluated)
      cachedTokenSource = 'llamacpp_timings'
    }
    const ok = end.failure === undefined
    const ttft = this.ttftMs
    const tpotMs = ok && ttft !== null && outputTokens > 1 && this.chunks > 1
      ? (end.latencyMs - ttft) / (outputTokens - 1)
      : null
    const last = messages[messages.length - 1]
    const record: RequestRecord = {
      id: meta.id,
      index: meta.index,
      sessionId: meta.sessionId,
      turnIndex: meta.turnIndex,
      round: meta.round,
      concurrency: meta.concurrency,
      startedAt: end.startedAt,
      ttftMs: ttft,
      ttfatMs: this.ttfatMs,
      latencyMs: end.latencyMs,
      chunkOffsetsMs: leading(this.offsets, this.chunks),
      tpotMs,
      inputTokens,
      inputTokenSource: inputFromUsage ? 'usage' : 'tokenizer',
      outputTokens,
      outputTokenSource: outputFromUsage ? 'usage' : 'tokenizer',
      cachedTokens,
      status: end.status,
      finishReason: this.finishReason,
      ok,
      outputText: text,
      promptPreview: last ? last.content.slice(0, 200) : '',
    }
    if (this.reasoningFirstMs !== null) {
      // A reported 0 beside reasoning text is a server that does not count it (SGLang without counting, vLLM's
      // Responses API when the template opened <think> in the prompt): counted here instead.
      const fromUsage = !this.reasoningNeedsCounting() && this.reasoningTokens !== null
      const tokens = Math.min(outputTokens, fromUsage ? this.reasoningTokens as number : this.precountedReasoning ?? ctx.tokenizer.count(reasoningText))
      record.reasoning = {
        firstMs: this.reasoningFirstMs,
        // A whole (non-streamed) answer arrives at once: its reasoning took no time that can be seen.
        timeMs: this.ttfatMs === null || this.whole ? null : this.ttfatMs - this.reasoningFirstMs,
        tokens,
        tokenSource: fromUsage ? 'usage' : 'tokenizer',
        chunks: this.ttfatMs === null ? this.chunks : this.chunksBeforeAnswer,
      }
    }
    if (this.toolCallIndices !== null) record.toolCalls = { count: this.toolCallIndices.length, firstMs: this.firstToolCallMs }
    if (meta.scheduledAt !== undefined) record.scheduledAt = meta.scheduledAt
    if (end.queuedMs >= 0.05) record.queuedMs = end.queuedMs
    if (this.perChunkUsage && this.tokenChunks === this.chunks && this.chunks > 0) record.chunkTokens = leading(this.chunkTokens, this.tokenChunks)
    if (cachedTokenSource) record.cachedTokenSource = cachedTokenSource
    if (usageRejected) record.usageRejected = true
    if (this.noDoneMarker) record.noDoneMarker = true
    if (!this.streamed) record.streamed = false
    if (end.failure) record.error = end.failure
    return record
  }
}

/** What --reasoning-tags holds while it looks for `</think>`: the text, and where the first of it arrived. */
interface ThinkTags {
  /** A tail that may be the start of `</think>`. */
  pending: string
  /** Content before `</think>`: reasoning once the tag closes, the answer if it never does and never opened. */
  held: TextBytes
  firstMs: number | null
  /** Index in the chunk offsets of the first held chunk. */
  firstChunk: number
}

/** Generated text as UTF-8 bytes in one growing buffer: appending a token allocates nothing on the JS heap. */
class TextBytes {
  private bytes: Buffer | null = null
  length = 0

  append(text: string): void {
    const n = Buffer.byteLength(text)
    this.grow(n)
    ;(this.bytes as Buffer).write(text, this.length)
    this.length += n
  }

  appendBytes(buf: Buffer, start: number, end: number): void {
    this.grow(end - start)
    buf.copy(this.bytes as Buffer, this.length, start, end)
    this.length += end - start
  }

  private grow(n: number): void {
    const size = this.bytes?.length ?? 0
    if (this.length + n <= size) return
    const grown = Buffer.allocUnsafe(Math.max(256, size * 2, this.length + n))
    this.bytes?.copy(grown, 0, 0, this.length)
    this.bytes = grown
  }

  toString(): string {
    return this.bytes === null ? '' : this.bytes.toString('utf8', 0, this.length)
  }
}

/** Answers longer than this (bytes) without usage are counted in slices that yield (countLater). */
const COUNT_LATER_BYTES = 64 * 1024

/** Most tokens a usage count may claim: beyond any context window. */
const MAX_PLAUSIBLE_TOKENS = 100_000_000

/** A server's token count fluxperf believes: absent, or a whole number from 0 to 10^8. */
function plausibleCount(n: number | null): boolean {
  return n === null || (Number.isSafeInteger(n) && n >= 0 && n <= MAX_PLAUSIBLE_TOKENS)
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value
  if (!v) return undefined
  const seconds = Number(v)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(v)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/** A Location made absolute against the request's URL (it may be relative). */
function resolveLocation(location: string, base: string): string {
  try {
    return new URL(location, base).href
  } catch {
    return location
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
