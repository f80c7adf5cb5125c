/**
 * Every option of the mock serving engine, with its default. The CLI (`fluxperf mock`) and the
 * docs read the same table, so a default lives in exactly one place.
 */

import { InputError } from '../errors.ts'
import { REASONING_FIELDS, type ReasoningField } from './chunks.ts'
import { parseFaults } from './faults.ts'

/** Options of `startMockServer` and `mockLlmHandlers`. Durations in ms, rates per second. */
export interface MockServerOptions {
  // ── server ──
  /** Interface to bind. @default '127.0.0.1' */
  host?: string
  /** Port to bind; 0 picks a free one (the real port is in `url`). @default 0 */
  port?: number
  /** Model id served by `/v1/models` and used as the `model_name` label of `/metrics`. @default 'mock-llm' */
  model?: string
  /** Answer a request naming another model than `model` with 404, as vLLM does (off: any name is served). @default false */
  strictModel?: boolean
  /** Context window: prompt tokens + max_tokens above it is a 400, as on vLLM. @default 32768 */
  maxModelLen?: number
  /** Tokens generated when the request sets neither `max_tokens` nor `max_completion_tokens`. @default 128 */
  defaultMaxTokens?: number

  // ── engine (latency model) ──
  /** Prefill throughput in prompt tokens per second, shared by all requests (prefills run one after another). @default 14000 */
  prefillTokensPerS?: number
  /** Fixed part of TTFT: scheduling, tokenising, the first decode step. @default 10 */
  baseLatencyMs?: number
  /** Inter-token latency with one running sequence. @default 2.9 */
  itlMs?: number
  /** Extra inter-token latency per additional running sequence: itl = itlMs + itlPerSeqMs × (running − 1). @default 0.5 */
  itlPerSeqMs?: number
  /** Sequences decoded at once; later requests wait in a FIFO queue. @default 256 */
  maxNumSeqs?: number
  /**
   * Prefill and decode share one GPU, prefill first: while a prefill runs, the running batch's decode
   * steps wait (a step needs `itl` ms in which no prefill runs), so under load ITL rises with the prompt
   * tokens prefilled, as on vLLM. Off: decode ignores prefill (ITL depends only on the batch size).
   * `--no-prefill-stalls-decode`. @default true
   */
  prefillStallsDecode?: boolean
  /** Tokens emitted per chunk after the first (as with speculative decoding). Header `x-mock-tokens-per-chunk`. @default 1 */
  tokensPerChunk?: number
  /**
   * The first N generated tokens of a chat or Responses answer are reasoning (not of completions).
   * Header `x-mock-reasoning-tokens`. @default 0
   */
  reasoningTokens?: number
  /**
   * How reasoning is sent: chat's delta field `reasoning_content` or `reasoning` (newer vLLM), or `tags`:
   * inside the content between `<think>` and `</think>`, as a server without a reasoning parser (the
   * Responses API then has no reasoning item either, and no reasoning token count).
   * Header `x-mock-reasoning-field`. @default 'reasoning_content'
   */
  reasoningField?: ReasoningField
  /** Random variation of every modelled duration, as a fraction: 0.05 means ±5%. @default 0.05 */
  jitter?: number
  /** Seed of the jitter and of injected faults, so runs repeat exactly. @default 0 */
  seed?: number
  /** Multiplies every modelled duration (prefill, base latency, ITL); 0.1 runs ten times faster. @default 1 */
  timeScale?: number

  // ── prefix cache ──
  /** Whether the prefix cache is on (`--no-prefix-cache` turns it off). @default true */
  prefixCache?: boolean
  /** Tokens per cache block; only full blocks are cached. @default 16 */
  blockSize?: number
  /** Cache capacity in tokens; least recently used blocks are evicted beyond it. @default 1000000 */
  cacheCapacityTokens?: number

  // ── faults ──
  /** Share of requests answered with `errorStatus` instead of a completion. @default 0 */
  errorRate?: number
  /** Status of the errors `errorRate` injects. @default 500 */
  errorStatus?: number
  /** Requests per second above which the mock answers 429 with `Retry-After` (token bucket, burst = the rate); 0 is no limit. @default 0 */
  rateLimitRps?: number
  /** `Retry-After` seconds of a 429. @default 1 */
  retryAfterS?: number
  /** Fault directives applied to requests, same syntax as the `x-mock-fault` header (e.g. `drop-after=5`). @default '' */
  fault?: string
  /** Share of requests `fault` applies to. @default 1 */
  faultRate?: number
}

export type ResolvedMockOptions = Required<MockServerOptions>

export const MOCK_DEFAULTS: ResolvedMockOptions = {
  host: '127.0.0.1',
  port: 0,
  model: 'mock-llm',
  strictModel: false,
  maxModelLen: 32768,
  defaultMaxTokens: 128,
  prefillTokensPerS: 14000,
  baseLatencyMs: 10,
  itlMs: 2.9,
  itlPerSeqMs: 0.5,
  maxNumSeqs: 256,
  prefillStallsDecode: true,
  tokensPerChunk: 1,
  reasoningTokens: 0,
  reasoningField: 'reasoning_content',
  jitter: 0.05,
  seed: 0,
  timeScale: 1,
  prefixCache: true,
  blockSize: 16,
  cacheCapacityTokens: 1_000_000,
  errorRate: 0,
  errorStatus: 500,
  rateLimitRps: 0,
  retryAfterS: 1,
  fault: '',
  faultRate: 1,
}

/** What a numeric option accepts. */
export interface NumberLimit {
  integer: boolean
  min: number
  max: number
  /** Whether `min` itself is excluded (rates that must be positive). */
  minExclusive?: boolean
}

type NumericKey = {
  [K in keyof ResolvedMockOptions]: ResolvedMockOptions[K] extends number ? K : never
}[keyof ResolvedMockOptions]

export const NUMBER_LIMITS: Record<NumericKey, NumberLimit> = {
  port: { integer: true, min: 0, max: 65535 },
  maxModelLen: { integer: true, min: 1, max: Number.MAX_SAFE_INTEGER },
  defaultMaxTokens: { integer: true, min: 1, max: Number.MAX_SAFE_INTEGER },
  prefillTokensPerS: { integer: false, min: 0, max: Infinity, minExclusive: true },
  baseLatencyMs: { integer: false, min: 0, max: Infinity },
  itlMs: { integer: false, min: 0, max: Infinity },
  itlPerSeqMs: { integer: false, min: 0, max: Infinity },
  maxNumSeqs: { integer: true, min: 1, max: Number.MAX_SAFE_INTEGER },
  tokensPerChunk: { integer: true, min: 1, max: 1_000_000 },
  reasoningTokens: { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER },
  jitter: { integer: false, min: 0, max: 1 },
  seed: { integer: true, min: 0, max: 0xffffffff },
  timeScale: { integer: false, min: 0, max: Infinity },
  blockSize: { integer: true, min: 1, max: 1_000_000 },
  cacheCapacityTokens: { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER },
  errorRate: { integer: false, min: 0, max: 1 },
  errorStatus: { integer: true, min: 400, max: 599 },
  rateLimitRps: { integer: false, min: 0, max: Infinity },
  retryAfterS: { integer: true, min: 0, max: 86400 },
  faultRate: { integer: false, min: 0, max: 1 },
}

/** "an integer from 0 to 65535", "a number above 0", ... */
export function describeLimit(limit: NumberLimit): string {
  const kind = limit.integer ? 'an integer' : 'a number'
  if (limit.max === Infinity || limit.max === Number.MAX_SAFE_INTEGER) {
    return limit.minExclusive ? `${kind} above ${limit.min}` : `${kind} >= ${limit.min}`
  }
  return `${kind} from ${limit.min} to ${limit.max}`
}

/** Whether `value` satisfies `limit`. */
export function withinLimit(value: number, limit: NumberLimit): boolean {
  if (!Number.isFinite(value) && !(value === Infinity && limit.max === Infinity)) return false
  if (limit.integer && !Number.isInteger(value)) return false
  if (limit.minExclusive ? value <= limit.min : value < limit.min) return false
  return value <= limit.max
}

/**
 * Fills in defaults and checks every value; a bad one throws `InputError` naming the option.
 * `where` maps an option key to the name the user typed (a CLI flag), if not the key itself.
 */
export function resolveMockOptions(
  options: MockServerOptions = {},
  where: (key: keyof MockServerOptions) => string = (key) => key,
): ResolvedMockOptions {
  const resolved = { ...MOCK_DEFAULTS }
  for (const key of Object.keys(options) as (keyof MockServerOptions)[]) {
    const value = options[key]
    if (value === undefined) continue
    if (!Object.hasOwn(MOCK_DEFAULTS, key)) throw new InputError('unknown option', where(key))
    const expected = typeof MOCK_DEFAULTS[key]
    if (typeof value !== expected) throw new InputError(`expected a ${expected}, got ${JSON.stringify(value)}`, where(key))
    ;(resolved as Record<string, unknown>)[key] = value
  }
  for (const key of Object.keys(NUMBER_LIMITS) as NumericKey[]) {
    const limit = NUMBER_LIMITS[key]
    if (!withinLimit(resolved[key], limit)) {
      throw new InputError(`expected ${describeLimit(limit)}, got ${resolved[key]}`, where(key))
    }
  }
  if (resolved.model.length === 0) throw new InputError('expected a non-empty model id', where('model'))
  if (!(REASONING_FIELDS as readonly string[]).includes(resolved.reasoningField)) {
    throw new InputError(`expected one of ${REASONING_FIELDS.join(', ')}, got ${JSON.stringify(resolved.reasoningField)}`, where('reasoningField'))
  }
  try {
    parseFaults(resolved.fault)
  } catch (error) {
    throw new InputError((error as Error).message, where('fault'))
  }
  return resolved
}
