/**
 * The shared vocabulary of fluxperf. Data flows one way:
 * dataset rows → workload → RequestRecord → metrics → RunResult → reports and assertions.
 * Everything here is plain, serialisable data.
 */

/** One chat message as sent to an OpenAI-compatible endpoint. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant'
  content: string
}

/**
 * One dataset row after loading: a conversation of one or more user turns.
 * Single-prompt rows (`{"text": ...}`) become a conversation with one turn.
 */
export interface Conversation {
  /** Stable id: the row's `session_id`, else `row-<line>`. */
  sessionId: string
  /** The user turns, replayed in order. */
  userMessages: string[]
  /** Optional system prompt that opens every request of the conversation. */
  system?: string
  /** Tools offered with every request of the conversation (the row's `tools`, Chat Completions shape). */
  tools?: unknown[]
  /** The row's `tool_choice`. */
  toolChoice?: unknown
  /** Where the row came from: `file:line`. */
  source: string
}

/** Why a request failed. `server_disconnected` is a connection closed by the peer mid-request. */
export type ErrorKind =
  | 'connection_refused'
  | 'dns_failed'
  | 'server_disconnected'
  | 'timeout'
  | 'http_error'
  | 'rate_limited'
  | 'malformed_stream'
  | 'incomplete_stream'
  | 'protocol_error'
  | 'response_too_large'
  | 'bad_content_type'
  | 'context_too_long'
  | 'interrupted'
  | 'client_error'
  | 'other'

/** Where a token count came from. */
export type TokenSource = 'usage' | 'tokenizer'

/** One request, measured. All times are milliseconds. */
export interface RequestRecord {
  /** Unique within a run, e.g. `c4-r1-17`. */
  id: string
  /** Index of the sample in the workload's request list. */
  index: number
  sessionId: string
  /** 0-based turn within the conversation. */
  turnIndex: number
  /** Round (dual-round: 1 or 2; other workloads: 1). */
  round: number
  /** Concurrency level the request ran at (0 for open-loop workloads). */
  concurrency: number
  /** Start, epoch ms with sub-ms precision (just before the request is written). */
  startedAt: number
  /**
   * Open loop only: the intended send time, epoch ms on `startedAt`'s clock (`performance.timeOrigin` based, not
   * `Date.now()`), so `startedAt − scheduledAt` is the request's schedule lag.
   */
  scheduledAt?: number
  /**
   * Time from handing the request to the connection pool to writing it: waiting for a free connection
   * or for a new one to be set up. Not part of TTFT or latency (absent when under 0.05 ms).
   */
  queuedMs?: number
  /** Start to first content-bearing chunk (reasoning, answer or tool call); null when none arrived. */
  ttftMs: number | null
  /**
   * Time to first answer token: start to the first chunk of the answer (content, a completion's text, a
   * tool-call delta) after any reasoning; null when no answer came. Equal to `ttftMs` for a model that does
   * not reason. Absent in records written before fluxperf 0.2 (read as `ttftMs`).
   */
  ttfatMs?: number | null
  /** The reasoning before the answer, present when any arrived (definitions: docs/design/reasoning.md). */
  reasoning?: ReasoningPhase
  /** Tool calls the answer made (streamed `tool_calls` deltas, Responses `function_call` items). */
  toolCalls?: { count: number; firstMs: number }
  /** Start to end of stream (`[DONE]`, close, or error). */
  latencyMs: number
  /** Arrival offsets (from start) of each content-bearing chunk. */
  chunkOffsetsMs: number[]
  /** Tokens carried by each content chunk when the server reports it (continuous usage stats). */
  chunkTokens?: number[]
  /** (latency − TTFT) / (output tokens − 1); null with fewer than 2 tokens. */
  tpotMs: number | null
  /** Prompt tokens: the server's usage, else the tokenizer's count; 0 for a request never written. */
  inputTokens: number
  inputTokenSource: TokenSource
  outputTokens: number
  outputTokenSource: TokenSource
  /** Prompt tokens the server served from its cache, when it reports them. */
  cachedTokens: number | null
  /** `usage` (prompt_tokens_details.cached_tokens) or `llamacpp_timings` (prompt_tokens − timings.prompt_n). */
  cachedTokenSource?: 'usage' | 'llamacpp_timings'
  /** HTTP status, null when no response arrived. */
  status: number | null
  finishReason: string | null
  ok: boolean
  error?: { kind: ErrorKind; message: string }
  /** Retries spent on this request (429 with `--retries`). */
  retries?: number
  /**
   * Sent a second time, on a new connection, because the reused connection it first went out on was
   * closed by the server before any response byte (the server never saw it). Timed from the first send.
   */
  resent?: true
  /** The server's `usage` was implausible (negative, fractional, over 10^8): counted with the tokenizer instead. */
  usageRejected?: true
  /**
   * The event stream ended with its body, after a chunk with a finish_reason, without `data: [DONE]`:
   * accepted as complete (some servers and proxies omit the marker), its latency running to the end of the body.
   */
  noDoneMarker?: true
  /**
   * `false` when a streaming request (`stream: true`) was answered with one JSON body instead of an
   * event stream: measured as a non-streamed answer (TTFT = latency, no ITL). Absent otherwise.
   */
  streamed?: false
  /** The generated text (kept for conversation history; reports may drop it). */
  outputText: string
  /** A short preview of the prompt (last user message), for reports. */
  promptPreview: string
}

/** The reasoning phase of one answer. */
export interface ReasoningPhase {
  /** Offset (ms from start) of the first reasoning chunk. */
  firstMs: number
  /** First reasoning chunk to first answer chunk (ms); null when no answer came. */
  timeMs: number | null
  /** Reasoning tokens: the server's `reasoning_tokens` (usage), else the tokenizer's count of the reasoning text. */
  tokens: number
  tokenSource: TokenSource
  /** Content chunks before the first answer chunk (`chunkOffsetsMs[0 … chunks-1]` are the reasoning's). */
  chunks: number
}

/** Statistics of one metric. Units are those of the metric (ms for times). */
export interface MetricSummary {
  count: number
  avg: number
  p50: number
  p90: number
  p95: number
  p99: number
  min: number
  max: number
  stddev: number
}

/**
 * Names of the per-request metrics a round reports. The first seven are always there; `ttfat` and
 * `answerTokens` are there when an answer came; the reasoning metrics when a request reasoned.
 */
export type MetricName = 'ttft' | 'itl' | 'itlChunk' | 'tpot' | 'latency' | 'inputTokens' | 'outputTokens'
  | 'ttfat' | 'answerTokens' | 'reasoningTime' | 'reasoningTokens' | 'reasoningItl' | 'answerItl' | 'reasoningTpot' | 'answerTpot'

/** A statistic of a metric. */
export type StatName = 'avg' | 'p50' | 'p90' | 'p95' | 'p99' | 'min' | 'max' | 'stddev' | 'count'

/** Goodput: requests that met every SLO term. */
export interface GoodputSummary {
  requests: number
  totalRequests: number
  requestShare: number
  tokens: number
  totalTokens: number
  tokenShare: number
  requestsPerS: number
  tokensPerS: number
}

/** One group of measured requests: a (concurrency, round) pair for dual-round, a turn group for multi-turn. */
export interface RoundResult {
  /** Python-tool-compatible column label, e.g. `Concurrency4-Round1`. */
  label: string
  concurrency: number
  round: number
  total: number
  succeeded: number
  failed: number
  /** First start to last end, seconds. */
  durationS: number
  /** Epoch ms of the first request's start and the last one's end (absent in results before fluxperf merge). */
  firstStartMs?: number
  lastEndMs?: number
  avgInputTokens: number
  avgOutputTokens: number
  metrics: Partial<Record<MetricName, MetricSummary>>
  /** hdr-histogram-js base64-encoded histograms (µs for times), so runs merge exactly. */
  histograms: Partial<Record<MetricName, string>>
  throughput: { requestsPerS: number; outputTokensPerS: number; inputTokensPerS: number }
  /** Requests whose answer made tool calls, and the calls they made (absent when none did). */
  toolCalls?: { requests: number; calls: number }
  goodput?: GoodputSummary
  /**
   * The server's own cache evidence: prompt tokens of the successful requests that reported a cached
   * count (`reportedBy` of them), and the cached share of those; `cachedShare` is null when none reported.
   */
  cache: CacheEvidence & {
    /**
     * The same over the round's first turns only (turn index 0). In a cold round, tokens cached there
     * were carried over from before the round, not reused from an earlier turn of the same conversation.
     */
    firstTurns?: CacheEvidence
  }
  /** Cold rounds: whether the prefix cache was emptied just before the round (absent in older results). */
  cacheReset?: CacheResetOutcome
  /** Failed requests by kind. */
  errors: ErrorSummary[]
  /** The first failed requests (at most 20), by id, e.g. to name the ones that may have warmed a cache. */
  failedRequests?: { id: string; kind: ErrorKind }[]
  /**
   * Requests that succeeded in a way worth knowing (absent when none): `resent` after their reused
   * connection closed before answering, `noDoneMarker` (a finish chunk but no `[DONE]`), `notStreamed`
   * (a JSON body answered a streaming request: TTFT = latency, no ITL), `noAnswer` (reasoned, then the answer
   * never came: no TTFAT).
   */
  notes?: { resent?: number; noDoneMarker?: number; notStreamed?: number; noAnswer?: number }
}

/** Cached prompt tokens as the server reported them over a group of requests. */
export interface CacheEvidence {
  promptTokens: number
  cachedTokens: number
  cachedShare: number | null
  /** Successful requests that carried a cached-token count (0 included). */
  reportedBy: number
}

/** A POST to the server's cache-reset URL before a cold round. */
export interface CacheResetOutcome {
  /** False when no reset URL was given (or resets were not asked for before this round). */
  attempted: boolean
  /** The server answered 2xx. */
  ok: boolean
  url?: string
  /** Why it failed, e.g. `HTTP 404` or `connect ECONNREFUSED`. */
  message?: string
}

export interface ErrorSummary {
  kind: ErrorKind
  count: number
  firstMessage: string
}

/** Cold / warm ratio of one statistic (round 1 / round 2, or turn 1 / later turns). */
export interface CacheSpeedup {
  concurrency: number
  metric: MetricName
  stat: StatName
  cold: number
  warm: number
  /** cold / warm; null when either group has no value (no successful request): never a made-up 0. */
  ratio: number | null
  /** Why `ratio` is null, e.g. `no successful requests in Concurrency4-Round2`. */
  reason?: string
  /** Share of prompt tokens the server reported as cached in the warm group, if it reports any. */
  warmCachedShare: number | null
}

/** The workloads fluxperf runs; `RunResult.workload` says which one a result is. */
export type WorkloadKind = 'dual-round' | 'multi-turn' | 'multi-round-qa' | 'traffic'

/** What every RunResult holds, whatever its workload. */
export interface RunResultCommon {
  /** 2 since the one-engine redesign (v1 results are read by `readRunResult`, src/baseline). */
  schemaVersion: 2
  tool: { name: 'fluxperf'; version: string }
  workload: WorkloadKind
  endpoint: string
  model: string
  startedAt: string
  finishedAt: string
  /** The seed of every random choice, so the run can be repeated. */
  seed: number
  /** The run's configuration, secrets redacted. */
  config: Record<string, unknown>
  interrupted: boolean
  /** How the client itself fared: whether it kept up (the saturation guard) and what precision mode changed. */
  client: ClientSummary
  /** The measured groups of requests, in the order they ran. */
  rounds: RoundResult[]
  speedups: CacheSpeedup[]
  /** Prometheus samples taken during the run, per round label (or phase label). */
  prometheus?: Record<string, PrometheusRoundSummary>
  /** SLO the goodput and thresholds were computed against, if any. */
  slo?: Slo
  /** Where reports were written, if anywhere. */
  outputDir?: string
  /** How requests travelled (absent in results of fluxperf 0.1 before it was recorded). */
  transport?: TransportSummary
  /** The serving engine, as named (`--engine`) or detected, and what said so; absent when unknown. */
  engine?: { name: string; evidence: string }
  /** Set when the run is one shard of several, or started at a given instant (`--shard`, `--start-at`). */
  shard?: ShardInfo  /** Set on a run merged from shards (`fluxperf merge`): how many, their names, and how far apart they started. */
  mergedFrom?: { shards: number; names: string[]; startSpreadMs: number; startAt?: string }
}

/** A shard's identity and how its start went. */
export interface ShardInfo {
  /** 0-based; `count` shards make the whole run. */
  index: number
  count: number
  /** The instant asked for (`--start-at`), ISO-8601; absent when the shard started at once. */
  startAt?: string
  /** When this shard's schedule actually started, ISO-8601 (this host's clock). */
  startedAt: string
  /** startedAt − startAt, ms: how late this shard started (its clock's own error not included). */
  startLagMs?: number
  /** The server's clock − this host's, ms, from its `Date` header (1 s resolution); null when it sends none. */
  serverClockOffsetMs: number | null
}

/** Dual-round (`fluxperf run`, `dualRound()`): per concurrency level, round 1 (cold) then round 2 (warm). */
export interface DualRoundResult extends RunResultCommon {
  workload: 'dual-round'
}

/** Multi-turn (`fluxperf multi-turn`, `multiTurn()`): round 1 = every first turn, round 2 = every later turn. */
export interface MultiTurnResult extends RunResultCommon {
  workload: 'multi-turn'
  /** TTFT and latency per turn number (1-based). */
  byTurn: TurnStats[]
  /** TTFT and latency per document type. */
  byDocumentType: { type: string; requests: number; ttft: MetricSummary; latency: MetricSummary; histograms?: { ttft: string; latency: string } }[]
  /** How the conversations went (completed = every turn answered). */
  conversations: ConversationSummary
}

/** Multi-round QA (`fluxperf multi-round-qa`, `multiRoundQa()`): users in an open loop at a target rate; one round. */
export interface MultiRoundQaResult extends RunResultCommon {
  workload: 'multi-round-qa'
  /** Target vs achieved rate and how late sends were. */
  openLoop: OpenLoopSummary
  /** TTFT and latency per question number (1-based). */
  byTurn: TurnStats[]
  /** The schedule as it ran, for the final summary: rate, users, prompt sizes, seconds elapsed. */
  schedule: QaSchedule
}

/** Traffic (`fluxperf traffic`, `traffic()`): independent requests at a rate, in stages, from a trace, or at a concurrency. */
export interface TrafficResult extends RunResultCommon {
  workload: 'traffic'
  /** Open loops (rate, stages, trace): target vs achieved rate and how late sends were. Absent for a closed loop. */
  openLoop?: OpenLoopSummary
  /** Open loops: whether the server fell behind the schedule (TTFT from the intended send growing without bound, or sends behind the rate). */
  saturation?: SaturationSummary
  /** The schedule as it ran. */
  schedule: TrafficSchedule
}

/** Over-saturation of an open loop, judged over the whole run (src/metrics/saturation.ts). */
export interface SaturationSummary {
  saturated: boolean
  /** What showed it, in words; empty when not saturated. */
  reasons: string[]
  /** Median TTFT from the intended send over the first, middle and last third of the sends, ms; null with too few requests. */
  ttftThirdsMs: [number, number, number] | null
  /** Sends made per second over sends intended per second. */
  rateRatio: number
}

/** How a traffic run was scheduled. */
export interface TrafficSchedule {
  mode: 'rate' | 'stages' | 'trace' | 'concurrency'
  rate?: number
  stages?: { rate: number; duration: number }[]
  arrival?: 'constant' | 'poisson' | 'gamma'
  burstiness?: number
  concurrency?: number
  trace?: {
    source: string
    requests: number
    timeScale: number
    blockSize: number
    /** Share of prompt tokens a perfect prefix cache would serve, from the trace's `hash_ids`. */
    impliedPrefixShare: number
  }
  /** Where the prompts came from. */
  prompts: string
  /** Requests sent. */
  sent: number
  /** Requests that waited for a connection (the pool, `--max-concurrency`, was full): the client limited the load. */
  connectionWaits: number
  elapsedS: number
  /** What ended the sends: the schedule ran out, `endWhen` said so (a sweep step's rule), or the run was interrupted. */
  endedBy: 'schedule' | 'endWhen' | 'interrupted'
  tokenizer: string
}

/** One SLO term on one sweep step, with the confidence interval of its statistic (none for max, min, throughput). */
export interface CapacityCheck {
  /** The term as written, e.g. `p(99) < 500`. */
  expression: string
  metric: string
  statistic: string
  observed: number | null
  op: '<' | '<=' | '>' | '>=' | '=='
  limit: number
  pass: boolean
  /** Why there is no value, when there is none. */
  reason?: string
  low: number | null
  high: number | null
}

/** One load level a capacity sweep tried. */
export interface CapacityStep {
  /** 1-based, in the order run. */
  step: number
  /** `probe`: one request at a time to size the first rate; `up`/`down`: geometric steps; `bisect`: between a pass and a fail. */
  phase: 'probe' | 'up' | 'down' | 'bisect'
  /** Requests per second (rate sweeps) or requests in flight (concurrency sweeps); the probe's is its concurrency, 1. */
  load: number
  /** Met every SLO term and was not over-saturated. */
  pass: boolean
  /** Why the step ended: its rule was met, it was over-saturated, it reached the longest step, or the run was stopped. */
  ended: 'rule' | 'saturated' | 'max-duration' | 'interrupted'
  /** The rule's standing when it ended, in words. */
  why: string
  /** Requests sent per second over the step. */
  achievedRate: number
  durationS: number
  checks: CapacityCheck[]
  saturation?: SaturationSummary
  /** The client was the bottleneck (event-loop delay over the guard's bound): the step says nothing about the server. */
  clientSaturated: boolean
  round: RoundResult
}

/**
 * The result of a capacity sweep (`fluxperf sweep`, `sweep()`): the highest load that met the SLO, found by
 * geometric steps up and bisection, every step with its confidence. `expect(capacity).toSustain({ qps })`.
 */
export interface CapacityResult {
  kind: 'capacity'
  schemaVersion: 1
  tool: { name: 'fluxperf'; version: string }
  /** What was varied: the open-loop request rate, or the closed-loop concurrency. */
  over: 'rate' | 'concurrency'
  endpoint: string
  model: string
  seed: number
  startedAt: string
  finishedAt: string
  slo: Slo
  /** The search and step rules as they ran. */
  settings: {
    minRequests: number
    ciWidth: number
    confidence: number
    maxStepDuration: number
    minStepDuration: number
    factor: number
    resolution: number
    start: number
    max: number
    maxSteps: number
  }
  /** The traffic settings of every step (prompt source, lengths), secrets redacted. */
  config: Record<string, unknown>
  /** Highest load that met the SLO; null when none did. */
  capacity: number | null
  /** Lowest load that did not; null when every load tried met it. */
  failedAt: number | null
  /**
   * How the search ended: `bracketed` (capacity between a pass and a fail within `resolution`), `max-load` (every
   * load up to `max` passed: capacity is at least that), `no-pass` (even the lowest load failed), `client-saturated`
   * (the client could not drive more), `max-steps`, or `interrupted`.
   */
  stopReason: 'bracketed' | 'max-load' | 'no-pass' | 'client-saturated' | 'max-steps' | 'interrupted'
  /** The finding in one sentence. */
  summary: string
  interrupted: boolean
  steps: CapacityStep[]
}

/** The result of a whole run: the one source of every report and assertion; `workload` says which shape. */
export type RunResult = DualRoundResult | MultiTurnResult | MultiRoundQaResult | TrafficResult

/** TTFT and latency of the requests of one turn number (counts are of successful requests). */
export interface TurnStats {
  turn: number
  ttft: MetricSummary
  latency: MetricSummary
  /** The encoded HDR histograms of both (µs), so shards merge exactly. */
  histograms?: { ttft: string; latency: string }
}

/** How the multi-round QA schedule was set up and how long it ran. */
export interface QaSchedule {
  qps: number
  arrival: 'constant' | 'poisson' | 'gamma'
  burstiness?: number
  numUsers: number
  numRounds: number
  sharedSystemPrompt: number
  userHistoryPrompt: number
  answerLen: number
  ignoreEos: boolean
  timeS: number
  /** Seconds from the schedule's start to its end (or the stop). */
  elapsedS: number
  usersCreated: number
  /** `synthetic`, or `ShareGPT (<file>)`. */
  questions: string
  tokenizer: string
}

/** The client's own health over the run, and the precision mode it ran in. */
export interface ClientSummary {
  /** Event-loop delay p99 while the run was under way, ms. */
  eventLoopDelayP99Ms: number
  /** The longest event-loop delay seen, ms. */
  eventLoopDelayMaxMs: number
  /** p99 delay above which the client counts as saturated, ms. */
  boundMs: number
  /** Resolution of the delay monitor, ms. */
  resolutionMs: number
  /** True when the client itself was the bottleneck (p99 past the bound): timings are not trustworthy. */
  saturated: boolean
  /** `off` (library and Vitest default), `auto` (CLI default: on when confined to one CPU) or `on`; what it changed. */
  precision: PrecisionSummary
  /**
   * fluxperf's own request path was warmed before the clock (`warmClient`, or precision mode's own warm-up); false
   * when turned off or when it failed (a notice said why). Absent in results written before fluxperf 0.2.
   */
  warmedUp?: boolean
  /** Warm-up requests sent before the clock started (`warmup`), not counted in any round. */
  warmupRequests: number
  /** Worker threads that shared the run (`--workers`), when more than one; the figures above are theirs merged. */
  workers?: number
}

/** What precision mode asked for, and what it changed or could not change in the process. */
export interface PrecisionSummary {
  mode: 'off' | 'auto' | 'on'
  active: boolean
  changes: string[]
  refused: string[]
  /**
   * Times the client stayed saturated 200 ms (its loop never idle) and precision mode gave V8's helper threads
   * and the loop their normal class back until the loop was calm (absent: never).
   */
  saturationBackOffs?: number
}

/** One threshold expression or a list of them: `'p(90) < 800'` or `['p(90) < 800', 'avg < 300']`. */
export type SloThresholds = string | readonly string[]

/**
 * A service-level objective. Either the Python tools' YAML shape (`ttft_ms: 1000` means every request's TTFT < 1000)
 * or k6-style threshold expressions per metric: `{ ttft: ['p(90) < 800'], errorRate: 'rate < 0.01' }`, or both.
 * Only the keys below exist, so a misspelt one fails type-checking (and, from YAML, `parseSlo` names it).
 */
export interface Slo {
  /** Per-request limits in ms (they define goodput): every request's TTFT must be below `ttft_ms`. */
  ttft_ms?: number | undefined
  /** The Python tools' ITL, i.e. per-request TPOT, ms (the same limit as `tpot_ms`). */
  itl_ms?: number | undefined
  tpot_ms?: number | undefined
  latency_ms?: number | undefined
  /** camelCase spellings of the same limits. */
  ttftMs?: number | undefined
  itlMs?: number | undefined
  tpotMs?: number | undefined
  latencyMs?: number | undefined
  /** Time to first token, ms. */
  ttft?: SloThresholds | undefined
  /** Every gap between content chunks, ms. */
  itl?: SloThresholds | undefined
  /** Raw per-chunk gaps, ms. */
  itlChunk?: SloThresholds | undefined
  /** Per request (latency − TTFT) / (output tokens − 1), ms. */
  tpot?: SloThresholds | undefined
  /** End-to-end request latency, ms. */
  latency?: SloThresholds | undefined
  inputTokens?: SloThresholds | undefined
  outputTokens?: SloThresholds | undefined
  /** Time to first answer token (after any reasoning), ms. */
  ttfat?: SloThresholds | undefined
  answerTokens?: SloThresholds | undefined
  /** First reasoning token to first answer token, ms (requests that reasoned). */
  reasoningTime?: SloThresholds | undefined
  reasoningTokens?: SloThresholds | undefined
  reasoningItl?: SloThresholds | undefined
  answerItl?: SloThresholds | undefined
  reasoningTpot?: SloThresholds | undefined
  answerTpot?: SloThresholds | undefined
  /** Share of failed requests, 0–1: `'rate < 0.01'`. */
  errorRate?: SloThresholds | undefined
  /** Share of requests meeting the per-request limits, 0–1. */
  goodput?: SloThresholds | undefined
  /** Output tokens per second. */
  throughput?: SloThresholds | undefined
  /** Requests per second. */
  requestThroughput?: SloThresholds | undefined
  /** Requests meeting the per-request limits, per second. */
  goodputThroughput?: SloThresholds | undefined
  /** snake_case spellings of the metric keys (as YAML files write them). */
  itl_chunk?: SloThresholds | undefined
  input_tokens?: SloThresholds | undefined
  output_tokens?: SloThresholds | undefined
  answer_tokens?: SloThresholds | undefined
  reasoning_time?: SloThresholds | undefined
  reasoning_tokens?: SloThresholds | undefined
  reasoning_itl?: SloThresholds | undefined
  answer_itl?: SloThresholds | undefined
  reasoning_tpot?: SloThresholds | undefined
  answer_tpot?: SloThresholds | undefined
  error_rate?: SloThresholds | undefined
  request_throughput?: SloThresholds | undefined
  goodput_throughput?: SloThresholds | undefined
}

/** How the run's requests travelled: which HTTP client, keep-alive, proxy and TLS, and what connections did. */
export interface TransportSummary {
  /**
   * `fluxperf-http1`: fluxperf's own HTTP/1.1 reader (plain http://, no proxy); `undici`: undici's Pool
   * (https://); `undici-proxy`: undici's EnvHttpProxyAgent (a proxy was set; NO_PROXY hosts go direct).
   */
  client: 'fluxperf-http1' | 'undici' | 'undici-proxy'
  /** Connections were reused between requests (false: `--no-keep-alive`). */
  keepAlive: boolean
  /** Longest idle time before reuse, ms (a server's shorter hint or observed close wins). */
  idleTimeoutMs: number
  /** The proxy, credentials removed. */
  proxy?: string
  tls?: { insecure: boolean; caFile?: string }
  /** fluxperf-http1 only: connections opened and reused, and the server's closes it learned from. */
  connections?: {
    opened: number
    reused: number
    closedByServerWhileIdle: number
    learnedIdleLimitMs?: number
  }
}

/** Multi-turn: conversations planned, started, completed, and ended early because the context was too long. */
export interface ConversationSummary {
  planned: number
  started: number
  /** Every turn got an answer. */
  completed: number
  /** Ended by a 400 "context too long" (`context_too_long`); the run went on. */
  endedByContextLimit: number
}

/** How an open-loop schedule went: every scheduled send is accounted for. */
export interface OpenLoopSummary {
  targetRate: number
  achievedRate: number
  scheduled: number
  sent: number
  /** Sends that could not start on time (a user's previous answer still streaming, or a cap): k6's dropped iterations. */
  late: number
  /** Sends never made before the run ended. */
  dropped: number
  /** Actual send time − scheduled send time, ms. */
  scheduleLag: MetricSummary
  /** Latency measured from the intended send time (includes schedule lag), ms. */
  latencyFromScheduled: MetricSummary
  /** TTFT measured from the intended send time, ms. */
  ttftFromScheduled: MetricSummary
  /** The encoded HDR histograms of the three (µs), so shards merge exactly. */
  histograms?: { scheduleLag: string; latencyFromScheduled: string; ttftFromScheduled: string }
}

/** Prometheus metrics sampled around one round. */
export interface PrometheusRoundSummary {
  /** Counters: increase over the round and rate per second. */
  counters: Record<string, { delta: number; ratePerS: number }>
  /** Gauges: statistics over the samples taken during the round. */
  gauges: Record<string, MetricSummary>
  /** Per-request deltas (`--prometheus-mode request`): statistics over requests. */
  perRequest?: Record<string, MetricSummary>
  /** Prefix-cache hit rate from vLLM's hits/queries counter deltas, when both are scraped. */
  prefixCacheHitRate?: number
  /** Scrapes that failed (the run goes on). */
  failedScrapes: number
  firstScrapeError?: string
  /** Successful scrapes during the round. */
  scrapes?: number
  /** Histograms: the increase of each cumulative bucket over the round, with count/sum and estimated quantiles. */
  histograms?: Record<string, PrometheusHistogramDelta>
  /** The increases of vLLM's prefix-cache counters behind `prefixCacheHitRate` (tokens). */
  prefixCache?: { hits: number; queries: number }
  /** Requested metrics that no successful scrape of the round found. */
  missing?: string[]
}

/** A Prometheus histogram over one round: increases of its cumulative `le` buckets (`le` "+Inf" last). */
export interface PrometheusHistogramDelta {
  /** Observations during the round (the `+Inf` bucket's increase). */
  count: number
  /** Increase of `_sum`, when exposed. */
  sum?: number
  /** sum / count. */
  mean?: number
  /** Quantiles estimated from the buckets (linear interpolation, as PromQL's histogram_quantile). */
  p50?: number
  p90?: number
  p99?: number
  buckets: { le: string; count: number }[]
}
