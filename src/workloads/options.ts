import type { PrometheusOptions } from '../metrics/prometheus.ts'
import type { EncodingName } from '../tokens/index.ts'
import type { Conversation, RequestRecord, RoundResult } from '../types.ts'

/** Settings shared by every workload: where to send, what to generate, how to measure. */
export interface EndpointSettings {
  /** Full endpoint URL, e.g. `http://127.0.0.1:8000/v1/chat/completions` (or `/v1/completions`). */
  endpoint: string
  /** Model name. @default the first id of `GET <base>/models` */
  model?: string
  /** Bearer token. @default process.env.OPENAI_API_KEY */
  apiKey?: string
  /** Extra request headers. */
  headers?: Record<string, string>
  /** Names of headers whose values are secrets: redacted (like the API key) from every message and file. */
  secretHeaders?: string[]
  /** `max_tokens` of every request. @default server's default */
  maxOutputTokens?: number
  /** Ask the server to ignore EOS so every answer is `maxOutputTokens` long (vLLM/SGLang/llama.cpp `ignore_eos`). @default false */
  ignoreEos?: boolean
  temperature?: number
  topP?: number
  /** Stream with SSE; false sends non-streaming requests (TTFT = latency). @default true */
  stream?: boolean
  /** Request vLLM's `continuous_usage_stats` so multi-token chunks do not inflate ITL. @default true */
  continuousUsageStats?: boolean
  /** Whole-request timeout in seconds. @default 300 */
  timeout?: number
  /** Reuse connections; false opens a new connection per request. @default true */
  keepAlive?: boolean
  /** Retries of a 429 response, honouring Retry-After. @default 0 */
  retries?: number
  /** Tokenizer used when the server reports no usage, and for context truncation. @default 'o200k_base' */
  tokenizer?: EncodingName
  /** Seed of every random choice. @default a random seed, saved in the result */
  seed?: number
  /** Stops the run: no new requests; in-flight ones get `inFlightGraceMs`, then are cut. The result is marked interrupted. */
  signal?: AbortSignal
  /** How long in-flight requests may finish after `signal` aborts. @default 5000 */
  inFlightGraceMs?: number
}

/** What a request looked like before it was sent (for `--debug`). */
export interface DebugEntry {
  id: string
  session_id: string
  turn_index: number
  round: number
  concurrency: number
  messages: { role: string; content: string }[]
  context_tokens: number
  truncated_turns: number
}

/** What a run resolved before its first request, handed to `onRoundComplete`. */
export interface RunContext {
  endpoint: string
  model: string
  seed: number
  config: Record<string, unknown>
}

/** Callbacks a caller (the CLI, the Vitest reporter) uses to follow a run as it goes. */
export interface RunHooks {
  /** Each finished request, in completion order. */
  onRequest?(record: RequestRecord): void
  /** Before a group starts; `total` requests are planned. */
  onRoundStart?(info: { label: string; concurrency: number; round: number; total: number }): void
  /** A group finished, with its summary, its records and what the run resolved (model, seed, config). */
  onRoundComplete?(round: RoundResult, records: readonly RequestRecord[], context: RunContext): void | Promise<void>
  /** Each request as built, before it is sent. */
  onDebug?(entry: DebugEntry): void
  /** Something the user should know (a fallback taken, a cache reset that failed). */
  onNotice?(message: string): void
}

/** The dual-round workload: every request twice per concurrency level, cold then warm. */
export interface DualRoundOptions extends EndpointSettings {
  /** A dataset file (JSONL or JSON array) or conversations already loaded. */
  dataset: string | Conversation[]
  /** Concurrency levels, each run as round 1 then round 2. @default [1] */
  concurrency?: number[]
  /** Conversations to sample from the dataset (seeded). @default all */
  samples?: number
  /** Drop the oldest turns when the context exceeds this many tokens. */
  maxContextTokens?: number
  /** Cut each user message to this many tokens. */
  maxInputLength?: number
  /** POST here to empty the server's prefix cache (e.g. vLLM's `/reset_prefix_cache`). */
  resetCacheUrl?: string
  /** POST `resetCacheUrl` before round 1 of every level, so each round 1 starts cold. @default false */
  resetCacheBetweenRounds?: boolean
  /** Send round 2 in a seeded random order instead of round 1's. @default false */
  shuffleRound2?: boolean
  /** Per-request SLO limits; when given, every round reports goodput. */
  goodputSlo?: { ttftMs?: number; tpotMs?: number; latencyMs?: number }
  /** Scrape a Prometheus endpoint around every round (or request); summaries go to `RunResult.prometheus`. */
  prometheus?: PrometheusOptions
  hooks?: RunHooks
}
