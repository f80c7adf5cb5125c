import type { EngineName } from '../engines/index.ts'
import { rejectUnknownKeys } from '../didYouMean.ts'
import { InputError } from '../errors.ts'
import type { PrometheusOptions } from '../metrics/prometheus.ts'
import { meetsRequestSlo, parsePerRequestSlo } from '../slo/index.ts'
import type { GoodputSlo } from '../slo/index.ts'
import type { EncodingName } from '../tokens/index.ts'
import type { ApiKind, PrecisionMode, RequestMeta } from '../client/index.ts'
import type { Conversation, RequestRecord, RoundResult } from '../types.ts'

/**
 * Settings shared by every workload: where to send, what to generate, how to measure.
 * A field added here must also be added to `ENDPOINT_SETTING_KEYS` below (tsc says so): unknown options
 * are rejected at run time, since Vitest does not type-check.
 */
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
  /**
   * The API requests speak: `chat` (`/v1/chat/completions`), `completions` or `responses` (`/v1/responses`). A base
   * URL gets its path; an endpoint of another API is switched to this one. @default from the endpoint's path, else chat
   */
  api?: ApiKind
  /**
   * Read `<think>…</think>` in the answer's content as reasoning, for a reasoning model served without a reasoning
   * parser (vLLM `--reasoning-parser`, SGLang `--reasoning-parser`). @default false
   */
  reasoningTags?: boolean
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
  /**
   * Longest idle time, seconds, before a connection is reused; a server's shorter `Keep-Alive` hint wins, and a
   * server seen closing idle connections sooner (or after every response) shortens it. @default 4
   */
  keepAliveTimeout?: number
  /** Forward proxy URL; `false` ignores `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY`, which apply by default. */
  proxy?: string | false
  /** PEM file of extra certificate authorities for https://. */
  caFile?: string
  /** Accept any TLS certificate. @default false */
  insecure?: boolean
  /**
   * Most connections the run opens; requests beyond wait for one (reported as `queuedMs`). Capped at the
   * open-file limit (`ulimit -n`) less a reserve whatever is given. @default no more than can be in flight
   */
  maxConnections?: number
  /**
   * The serving engine, which says how to empty its prefix cache (and how many prompts it keeps):
   * `auto` finds it from `/v1/models`, the `Server` header or `/metrics` names. @default 'auto'
   */
  engine?: EngineName | 'auto'
  /**
   * Empty the server's prefix cache before each cold round, the engine's way: vLLM `/reset_prefix_cache`,
   * SGLang `/flush_cache`, llama.cpp every slot through `/slots`. A workload's `resetCacheUrl`, when given,
   * is used instead. @default false
   */
  resetCache?: boolean
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
  /**
   * A group finished, with its summary and what the run resolved (model, seed, config). Records are not
   * kept (a long run's would not fit in memory): a caller that needs them collects them in `onRequest`.
   */
  onRoundComplete?(round: RoundResult, context: RunContext): void | Promise<void>
  /** Each request as built, before it is sent. */
  onDebug?(entry: DebugEntry): void
  /** Something the user should know (a fallback taken, a cache reset that failed). */
  onNotice?(message: string): void
}

/**
 * What every workload accepts besides the endpoint: the cache reset, goodput, Prometheus, precision, a
 * warm-up, and the callbacks. One definition, so every workload (and every command) has all of them.
 */
export interface WorkloadSettings extends EndpointSettings {
  /**
   * POST here to empty the server's prefix cache before each cold round (e.g. vLLM's `/reset_prefix_cache`)
   * instead of the engine's own way (`resetCache`); the outcome is kept on the round (`RoundResult.cacheReset`).
   */
  resetCacheUrl?: string
  /** Per-request SLO limits (`ttft_ms` or `ttftMs`, `tpot_ms`, `latency_ms`); when given, every round reports goodput. */
  goodputSlo?: GoodputSlo
  /** Scrape a Prometheus endpoint around every round (or request); summaries go to `RunResult.prometheus`. */
  prometheus?: PrometheusOptions
  /**
   * Process tuning for the most exact timestamps (V8 warm-up and flags, helper threads' scheduling): `off`
   * changes nothing in the process, `on` does it all and undoes it when the run ends, `auto` is `on` where
   * the process is confined to one CPU. See docs/design/precision.md. @default 'off' (the CLI's is 'auto')
   */
  precision?: PrecisionMode
  /**
   * Warm fluxperf's own request path before the clock: about half a second of streamed answers from a server of
   * its own on 127.0.0.1 (never the endpoint), read through the run's request code, so the first round's first
   * and last tokens are not read by code V8 has yet to compile. Cold, a first round at 100 streams read its first
   * tokens 5–6 ms late (TTFT error p99 through `vitest bench`); warmed, 0.5–0.6 ms. Changes nothing in the
   * process; precision mode `on` always warms (with its own V8 flags). Recorded as `client.warmedUp`.
   * See docs/design/precision.md ("The client warmed up"). @default true, unless the environment has
   * FLUXPERF_NO_WARM_CLIENT=1 (for a test suite of many short runs against a mock)
   */
  warmClient?: boolean
  /**
   * Requests sent before the clock starts and counted nowhere (like vLLM's `--num-warmups`), with prompts of
   * their own, disjoint from the workload's, so they warm the server and the connections, not its prefix cache. @default 0
   */
  warmup?: number
  /**
   * This process's part of a run split over several (`--shard i/n`): it sends the requests of its sessions,
   * users or arrivals (every n-th of the one schedule the whole run makes, same seed), so the shards together send
   * exactly the single run's requests. @default the whole run
   */
  shard?: ShardSpec
  /**
   * When the schedule starts (epoch ms, a Date, or ISO-8601 text): every shard given the same instant starts
   * together (hosts' clocks synchronised, as NTP keeps Kubernetes nodes). The run prepares first (model, warm-up,
   * connections), then waits. @default at once
   */
  startAt?: number | string | Date
  /**
   * Worker threads that share the run (`--workers n`): each sends its part of the one run the seed makes (the
   * run's n shards, with connections, histograms and precision mode of its own), and the results are merged
   * exactly, as shards are. Not with `shard`; options must be cloneable (hooks and `signal` excepted). A run of
   * one of fluxperf's workloads only. See docs/design/workers.md. @default 1
   */
  workers?: number
  hooks?: RunHooks
}

/** One shard of a run split over `count` processes: this one is `index` (0-based). */
export interface ShardSpec {
  index: number
  count: number
}

/** The dual-round workload: every request twice per concurrency level, cold then warm. */
export interface DualRoundOptions extends WorkloadSettings {
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
  /**
   * Empty the prefix cache (`resetCacheUrl`, or the engine's way with `resetCache`) before round 1 of every
   * level, not only the first, so each round 1 starts cold. @default false
   */
  resetCacheBetweenRounds?: boolean
  /** Send round 2 in a seeded random order instead of round 1's. @default false */
  shuffleRound2?: boolean
}

/** The tools a dataset row offers, as a request's `tools` (nothing when it offers none). */
export function conversationTools(conv: Conversation): Pick<RequestMeta, 'tools'> {
  if (conv.tools === undefined) return {}
  return { tools: conv.toolChoice === undefined ? { tools: conv.tools } : { tools: conv.tools, toolChoice: conv.toolChoice } }
}

/** Each key of T (optional ones included) mapped to true: a runtime list of option names that tsc keeps complete. */
export type KeysOf<T> = Record<keyof Required<T>, true>

const ENDPOINT_SETTING_KEYS: KeysOf<EndpointSettings> = {
  endpoint: true, model: true, apiKey: true, headers: true, secretHeaders: true, maxOutputTokens: true, ignoreEos: true, api: true, reasoningTags: true,
  temperature: true, topP: true, stream: true, continuousUsageStats: true, timeout: true, keepAlive: true, keepAliveTimeout: true,
  proxy: true, caFile: true, insecure: true, maxConnections: true, engine: true, resetCache: true, retries: true, tokenizer: true, seed: true, signal: true, inFlightGraceMs: true,
}

const WORKLOAD_SETTING_KEYS: KeysOf<WorkloadSettings> = {
  ...ENDPOINT_SETTING_KEYS, resetCacheUrl: true, goodputSlo: true, prometheus: true, precision: true, warmClient: true, warmup: true, hooks: true, shard: true, startAt: true, workers: true,
}

const RUN_HOOK_KEYS: KeysOf<RunHooks> = { onRequest: true, onRoundStart: true, onRoundComplete: true, onDebug: true, onNotice: true }

/** A workload's own option and hook names, beside the shared ones. */
export interface WorkloadKeys {
  options: Record<string, true>
  hooks?: Record<string, true>
}

/** The workload functions, by the name their messages use. */
export type WorkloadName = 'dualRound' | 'multiTurn' | 'multiRoundQa' | 'traffic'

/**
 * Rejects what TypeScript would have caught but Vitest does not (it strips types without checking):
 * an unknown option (`numSamples` for `samples`), an unknown hook, an unknown or empty `goodputSlo`.
 * One check for every workload, so all three say the same thing.
 * @throws InputError naming the workload and the nearest valid key: `dualRound: unknown option "numSamples" (did you mean "samples"?)`
 */
export function checkWorkloadOptions(options: object, workload: WorkloadName, own: WorkloadKeys): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InputError('expected an options object', workload)
  rejectUnknownKeys(options, [...Object.keys(WORKLOAD_SETTING_KEYS), ...Object.keys(own.options)], 'option', workload)
  const { hooks, goodputSlo, precision, warmClient, warmup } = options as { hooks?: unknown; goodputSlo?: unknown; precision?: unknown; warmClient?: unknown; warmup?: unknown }
  if (hooks !== undefined && hooks !== null) {
    if (typeof hooks !== 'object') throw new InputError('hooks: expected an object of callbacks', workload)
    rejectUnknownKeys(hooks, [...Object.keys(RUN_HOOK_KEYS), ...Object.keys(own.hooks ?? {})], 'hook', `${workload}: hooks`)
  }
  if (precision !== undefined && precision !== 'off' && precision !== 'auto' && precision !== 'on') {
    throw new InputError(`precision: expected 'off', 'auto' or 'on', got ${JSON.stringify(precision)}`, workload)
  }
  if (warmClient !== undefined && typeof warmClient !== 'boolean') throw new InputError(`warmClient: expected true or false, got ${JSON.stringify(warmClient)}`, workload)
  if (warmup !== undefined && (!Number.isInteger(warmup) || (warmup as number) < 0)) {
    throw new InputError(`warmup: expected a whole number ≥ 0, got ${JSON.stringify(warmup)}`, workload)
  }
  if (goodputSlo !== undefined) parsePerRequestSlo(goodputSlo, `${workload}: goodputSlo`)
  shardOf((options as { shard?: unknown }).shard, workload)
  startAtOf((options as { startAt?: unknown }).startAt, workload)
  workersOf(options as { workers?: unknown; shard?: unknown })
}

/**
 * `workers` checked (1 when not given).
 * @throws InputError naming `--workers` for anything but a whole number ≥ 1, or more than one worker with a `shard`
 */
export function workersOf(options: { workers?: unknown; shard?: unknown }): number {
  const { workers } = options
  if (workers === undefined) return 1
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1) throw new InputError(`expected a whole number ≥ 1, got ${JSON.stringify(workers)}`, '--workers')
  if (workers > 1 && options.shard !== undefined) {
    throw new InputError('give either --workers (threads of this process) or --shard (a part of a run split over processes), not both; run each shard with --workers 1', '--workers')
  }
  return workers
}

/** The shard a run is (the whole run, `{ index: 0, count: 1 }`, when none is given), checked. */
export function shardOf(shard: unknown, where: string): ShardSpec {
  if (shard === undefined) return { index: 0, count: 1 }
  const { index, count } = (shard ?? {}) as { index?: unknown; count?: unknown }
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) throw new InputError(`shard: the number of shards must be a whole number ≥ 1, got ${JSON.stringify(count)}`, where)
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) throw new InputError(`shard: the index must be a whole number from 0 to ${count - 1}, got ${JSON.stringify(index)}`, where)
  return { index, count }
}

/**
 * The workers of a closed loop of `total` that shard `shard` runs: worker k belongs to shard k mod n.
 * @throws InputError naming `flag` when `total` is below the number of shards: a shard would run no worker, or
 * (were it given one) the shards together would run more than `total`
 */
export function shardWorkers(total: number, shard: ShardSpec, flag: string): number {
  if (total < shard.count) throw new InputError(`${total} in flight cannot be split over ${shard.count} shards (each shard runs the workers k mod ${shard.count}); use at least ${shard.count}, or fewer shards`, flag)
  return Math.floor((total - 1 - shard.index) / shard.count) + 1
}

/** Whether item `index` (a conversation, a user slot, an arrival) belongs to `shard`. */
export function ownedBy(index: number, shard: ShardSpec): boolean {
  return index % shard.count === shard.index
}

/** `startAt` as epoch ms, or undefined; text must be ISO-8601 with a time zone (`2026-12-05T10:00:00Z`). */
export function startAtOf(startAt: unknown, where: string): number | undefined {
  if (startAt === undefined) return undefined
  const ms = startAt instanceof Date ? startAt.getTime() : typeof startAt === 'number' ? startAt
    : typeof startAt === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(startAt.trim()) ? Date.parse(startAt.trim()) : NaN
  // Epoch seconds passed for milliseconds would start at once, silently: refused.
  if (!Number.isFinite(ms) || ms < 1e12) throw new InputError(`startAt: expected an ISO-8601 time with a zone, e.g. 2026-12-05T10:00:00Z (or epoch milliseconds), got ${JSON.stringify(startAt)}`, where)
  return ms
}

/**
 * The goodput rule for a workload's `goodputSlo` (either key spelling; see `parsePerRequestSlo`), or
 * undefined when none is given (the rounds then report no goodput).
 */
export function goodputRule(goodputSlo: GoodputSlo | undefined, workload: WorkloadName): ((record: RequestRecord) => boolean) | undefined {
  if (goodputSlo === undefined) return undefined
  const limits = parsePerRequestSlo(goodputSlo, `${workload}: goodputSlo`)
  return (record) => meetsRequestSlo(record, limits)
}
