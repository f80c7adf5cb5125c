/**
 * The mock's request handling, independent of the transport: `server.ts` (node:http) and `msw.ts`
 * (msw handlers) both turn their requests into a `MockCall` and write out the `MockReply`.
 *
 * Routes: GET /health, /v1/models, /metrics, /stats; POST /v1/chat/completions, /v1/completions,
 * /v1/responses, /reset, /reset_prefix_cache.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { type Random, createRandom } from '../random.ts'
import { type ApiRoute, JSON_HEADERS, REASONING_FIELDS, type ReasoningField, errorBody } from './chunks.ts'
import { Engine, type EngineStats } from './engine.ts'
import { type FaultPlan, RateLimiter, isNoFaults, mergeFaults, parseFaults } from './faults.ts'
import { Generation } from './generation.ts'
import { MockMetrics } from './metrics.ts'
import { type GenerationRequest, RequestError, parseGenerationRequest } from './openaiRequest.ts'
import type { ResolvedMockOptions } from './options.ts'
import type { MockCall, MockReply } from './types.ts'

/** Counters of a mock instance since it started. */
export interface MockStats extends EngineStats {
  /** Requests to the generation endpoints. */
  requests: number
  /** Requests refused with 400 (bad JSON, missing fields, context too long, bad mock headers). */
  badRequests: number
  /** 429s from `rateLimitRps`. */
  rateLimited: number
  /** Error responses injected by `errorRate` or a `status=` fault. */
  injectedErrors: number
  /** Requests that got a stall, drop, malformed or no-done fault. */
  faulted: number
  /** SSE events written (`data:` lines, role, usage and `[DONE]` included; every Responses event). */
  chunks: number
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }

function json(status: number, body: string, headers: Record<string, string> = JSON_HEADERS): MockReply {
  return { kind: 'body', status, headers, body }
}

function errorReply(status: number, message: string, param: string | null = null): MockReply {
  return json(status, errorBody(status, message, param))
}

export class MockApp {
  readonly options: ResolvedMockOptions
  readonly engine: Engine
  readonly metrics: MockMetrics
  readonly #serverFaults: FaultPlan
  readonly #faultRandom: Random
  readonly #limiter: RateLimiter | undefined
  readonly #created = Math.floor(Date.now() / 1000)
  #nextId = 0
  readonly #counters = { requests: 0, badRequests: 0, rateLimited: 0, injectedErrors: 0, faulted: 0, chunks: 0 }

  constructor(options: ResolvedMockOptions) {
    this.options = options
    this.engine = new Engine(options)
    this.metrics = new MockMetrics(options.model, () => this.engine.stats())
    this.#serverFaults = parseFaults(options.fault)
    this.#faultRandom = createRandom(options.seed ^ 0x6a09e667)
    this.#limiter = options.rateLimitRps > 0 ? new RateLimiter(options.rateLimitRps, performance.now()) : undefined
  }

  stats(): MockStats {
    return { ...this.engine.stats(), ...this.#counters }
  }

  resetCache(): void {
    this.engine.resetCache()
  }

  close(): void {
    this.engine.close()
  }

  /** Answers one request. `signal` aborts when the client goes away before the reply. */
  async handle(call: MockCall, signal?: AbortSignal): Promise<MockReply> {
    const { method, path } = call
    switch (path) {
      case '/health':
        return method === 'GET' || method === 'HEAD' ? json(200, '', {}) : this.#notAllowed(method, path)
      case '/v1/models':
        return method === 'GET' ? json(200, this.#models()) : this.#notAllowed(method, path)
      case '/metrics':
        if (method !== 'GET') return this.#notAllowed(method, path)
        return json(200, await this.metrics.text(), { 'content-type': this.metrics.contentType })
      case '/stats':
        return method === 'GET' ? json(200, JSON.stringify(this.stats())) : this.#notAllowed(method, path)
      case '/reset':
      case '/reset_prefix_cache':
        if (method !== 'POST') return this.#notAllowed(method, path)
        this.resetCache()
        return json(200, '', {})
      case '/v1/chat/completions':
        return method === 'POST' ? this.#generate('chat', call, signal) : this.#notAllowed(method, path)
      case '/v1/completions':
        return method === 'POST' ? this.#generate('completion', call, signal) : this.#notAllowed(method, path)
      case '/v1/responses':
        return method === 'POST' ? this.#generate('responses', call, signal) : this.#notAllowed(method, path)
      default:
        return errorReply(404, `Not Found: ${path}`)
    }
  }

  #notAllowed(method: string, path: string): MockReply {
    return errorReply(405, `Method ${method} not allowed on ${path}`)
  }

  #models(): string {
    const { model, maxModelLen } = this.options
    return JSON.stringify({
      object: 'list',
      data: [
        {
          id: model,
          object: 'model',
          created: this.#created,
          owned_by: 'fluxperf',
          root: model,
          parent: null,
          max_model_len: maxModelLen,
          permission: [],
        },
      ],
    })
  }

  async #generate(endpoint: ApiRoute, call: MockCall, signal: AbortSignal | undefined): Promise<MockReply> {
    const receivedAt = performance.now()
    const counters = this.#counters
    counters.requests++
    const bodyText = await call.body()

    let faults: FaultPlan
    let tokensPerChunk: number
    let reasoningTokens: number
    let reasoningField: ReasoningField
    try {
      const serverFaults = this.#serverFaults
      const chosen =
        !isNoFaults(serverFaults) && (this.options.faultRate >= 1 || this.#faultRandom.next() < this.options.faultRate)
      faults = mergeFaults(chosen ? serverFaults : {}, parseHeaderFaults(call.header('x-mock-fault')))
      tokensPerChunk = headerInt(call, 'x-mock-tokens-per-chunk', 1) ?? this.options.tokensPerChunk
      reasoningTokens = headerInt(call, 'x-mock-reasoning-tokens', 0) ?? this.options.reasoningTokens
      reasoningField = headerReasoningField(call) ?? this.options.reasoningField
    } catch (error) {
      counters.badRequests++
      return errorReply(400, (error as Error).message)
    }

    if (faults.stallFirstByteMs !== undefined && faults.stallFirstByteMs > 0) {
      try {
        await sleep(faults.stallFirstByteMs, undefined, { signal })
      } catch {
        return { kind: 'drop' }
      }
    }
    if (faults.status !== undefined) {
      counters.injectedErrors++
      return this.#injectedError(faults.status, faults.retryAfterS ?? this.options.retryAfterS)
    }
    if (this.#limiter) {
      const waitS = this.#limiter.take(performance.now())
      if (waitS > 0) {
        counters.rateLimited++
        return this.#injectedError(429, Math.max(this.options.retryAfterS, Math.ceil(waitS)))
      }
    }

    let request: GenerationRequest
    try {
      request = parseGenerationRequest(endpoint, bodyText, call.header('x-session-id'), this.options)
    } catch (error) {
      if (!(error instanceof RequestError)) throw error
      counters.badRequests++
      return errorReply(error.status, error.message, error.param)
    }
    // vLLM and SGLang answer a model they do not serve with 404; a client that hard-codes a model name is caught here.
    if (this.options.strictModel && request.model !== undefined && request.model !== this.options.model) {
      counters.badRequests++
      return errorReply(404, `The model \`${request.model}\` does not exist.`, 'model')
    }

    if (this.options.errorRate > 0 && this.#faultRandom.next() < this.options.errorRate) {
      counters.injectedErrors++
      return this.#injectedError(this.options.errorStatus, this.options.retryAfterS)
    }
    if (!isNoFaults(faults)) counters.faulted++

    const idSuffix = `mock${(this.#nextId++).toString(16).padStart(8, '0')}`
    const generation = new Generation(this, request, faults, {
      model: request.model ?? this.options.model,
      id: endpoint === 'responses' ? `resp_${idSuffix}` : `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${idSuffix}`,
      idSuffix,
      tokensPerChunk,
      // Completions have no chat template, hence no reasoning parser either.
      reasoningTokens: endpoint === 'completion' ? 0 : reasoningTokens,
      reasoningField,
      receivedAt,
    })
    if (request.stream) {
      return { kind: 'stream', headers: SSE_HEADERS, start: (sink) => generation.stream(sink) }
    }
    return generation.whole(signal)
  }

  #injectedError(status: number, retryAfterS: number): MockReply {
    const message = status === 429 ? 'Rate limit exceeded (mock)' : `Injected error (mock): status ${status}`
    const headers: Record<string, string> =
      status === 429 ? { ...JSON_HEADERS, 'retry-after': String(retryAfterS) } : JSON_HEADERS
    return json(status, errorBody(status, message), headers)
  }

  /** Counts SSE events written. */
  countChunks(n: number): void {
    this.#counters.chunks += n
  }
}

function parseHeaderFaults(value: string | undefined): FaultPlan {
  try {
    return parseFaults(value)
  } catch (error) {
    throw new Error(`x-mock-fault: ${(error as Error).message}`)
  }
}

function headerReasoningField(call: MockCall): ReasoningField | undefined {
  const value = call.header('x-mock-reasoning-field')
  if (value === undefined || value === '') return undefined
  if (!(REASONING_FIELDS as readonly string[]).includes(value)) {
    throw new Error(`x-mock-reasoning-field: expected one of ${REASONING_FIELDS.join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value as ReasoningField
}

function headerInt(call: MockCall, name: string, min: number): number | undefined {
  const value = call.header(name)
  if (value === undefined || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: expected an integer >= ${min}, got ${JSON.stringify(value)}`)
  return n
}
