import { exactTokenText, impliedPrefixShare, loadDataset, loadTrace, tracePrompts } from '../data/index.ts'
import type { Trace, TraceEntry } from '../data/index.ts'
import { InputError } from '../errors.ts'
import { SaturationWatch } from '../metrics/index.ts'
import type { SaturationAssessment } from '../metrics/index.ts'
import { createRandom } from '../random.ts'
import type { Random } from '../random.ts'
import { ARRIVAL_PROCESSES, epochTie, lagUntilStarted, parseStages, runClosedLoop, runOpenLoop, stagedOffsets, stagesDuration, systemClock } from '../schedule/index.ts'
import type { ArrivalProcess, Clock, RateStage, ScheduledSend } from '../schedule/index.ts'
import type { RequestMeta } from '../client/index.ts'
import type { ChatMessage, Conversation, RequestRecord, RoundResult, TrafficResult, TrafficSchedule } from '../types.ts'
import { runWorkload } from './engine.ts'
import type { MeasuredGroup, RunExtras, WorkloadDefinition, WorkloadOutcome, WorkloadRun } from './engine.ts'
import { OpenLoopTally } from './multiRoundQa.ts'
import { connectionCap } from './run.ts'
import { conversationTools, ownedBy, shardOf, shardWorkers } from './options.ts'
import type { KeysOf, RunHooks, WorkloadSettings } from './options.ts'

/** What the traffic workload reports while it runs, and what `endWhen` decides on. */
export interface TrafficSnapshot {
  /** Seconds since the schedule started. */
  elapsedS: number
  /** The group now being sent (the current stage), summarised so far. */
  round: RoundResult
  /** Sends made and answered (or failed) so far, over every group. */
  sent: number
  settled: number
  /** Requests that waited for a connection so far: the pool (`maxConcurrency`) limited the load, not the server. */
  connectionWaits: number
  /** Open loop: whether the server (or client) is falling behind the schedule. Closed loop: never. */
  saturation: SaturationAssessment
}

/** Callbacks of the traffic workload: the common ones and a periodic snapshot. */
export interface TrafficHooks extends RunHooks {
  /** Every `checkInterval` seconds while requests are being sent. */
  onInterval?(snapshot: TrafficSnapshot): void
}

/**
 * The traffic workload: independent requests sent by one of four schedules, the load a serving team
 * plans capacity for. Exactly one of `rate`, `stages`, `trace` or `concurrency` is given.
 */
export interface TrafficOptions extends WorkloadSettings {
  /** Open loop: requests per second for `duration` seconds (or until `requests` were sent). */
  rate?: number
  /** Open loop: stages run back to back, `{ rate, duration }` each (k6's and inference-perf's ramp). `--stages 2:30,8:60`. */
  stages?: RateStage[]
  /** Open loop at recorded times: a trace file (JSONL of timestamp, input_length, output_length, hash_ids; see docs/design/traces.md) or one already loaded. */
  trace?: string | Trace
  /** Closed loop: this many requests in flight at once, each sent as the previous one ends. */
  concurrency?: number
  /** Multiplies the trace's recorded times: 0.5 replays twice as fast, 2 half as fast. @default 1 */
  timeScale?: number
  /** Tokens per `hash_ids` block of the trace (Mooncake's is 512). @default 512 */
  traceBlockSize?: number
  /** Seconds of the schedule (`rate`, `concurrency`). @default 60 with `rate`; with `concurrency`, until `requests` are done */
  duration?: number
  /** Requests to send (`rate`, `concurrency`). @default no limit with `rate`; 100 with `concurrency` and no `duration` */
  requests?: number
  /** Arrival process of `rate` and `stages`. @default 'constant' */
  arrival?: ArrivalProcess
  /** Gamma shape for `arrival: 'gamma'` (1 = Poisson, < 1 burstier). @default 1 */
  burstiness?: number
  /** Prompts: the first user message of each conversation of this dataset (seeded order, reused in turn). @default synthetic prompts of `inputTokens` */
  dataset?: string | Conversation[]
  /** Synthetic prompts: tokens of each (exact, in the run's tokenizer), unique per request after `prefixTokens`. @default 256 */
  inputTokens?: number
  /** Synthetic prompts: tokens of a prefix every request shares (a system prompt the server can cache). @default 0 */
  prefixTokens?: number
  /** Most requests in flight on the open loops: the connection pool; sends beyond wait for a connection, and the wait counts as schedule lag. @default enough for 5 s of the peak rate (4–1024) */
  maxConcurrency?: number
  /** Seconds between snapshots (`hooks.onInterval`, `endWhen`). @default 0.5 */
  checkInterval?: number
  /** Ends the schedule early when it returns true (checked every `checkInterval`): no new sends, the ones in flight finish. A capacity sweep's step rule. */
  endWhen?: (snapshot: TrafficSnapshot) => boolean
  /** Time source of the open loops (tests inject a virtual one). @default performance.now() and timers */
  clock?: Clock
  hooks?: TrafficHooks
}

export const TRAFFIC_DEFAULTS = {
  duration: 60,
  closedLoopRequests: 100,
  inputTokens: 256,
  prefixTokens: 0,
  maxOutputTokens: 128,
  timeScale: 1,
  traceBlockSize: 512,
  arrival: 'constant' as ArrivalProcess,
  burstiness: 1,
  checkInterval: 0.5,
}

type OwnKeys = Omit<TrafficOptions, keyof WorkloadSettings>

const KEYS: KeysOf<OwnKeys> = {
  rate: true, stages: true, trace: true, concurrency: true, timeScale: true, traceBlockSize: true, duration: true, requests: true, arrival: true,
  burstiness: true, dataset: true, inputTokens: true, prefixTokens: true, maxConcurrency: true, checkInterval: true, endWhen: true, clock: true,
}

/** How often requests in flight are sampled on the open loops, ms. */
const IN_FLIGHT_SAMPLE_MS = 100

/** Most sends one schedule may hold, as for multi-round QA. */
const MAX_SENDS = 1_000_000

/** One planned send: when (ms from the schedule's start; closed loop: none), and which group it measures in. */
interface Planned {
  offsetMs: number
  stage: number
  entry?: TraceEntry
}

/** The traffic options, checked and completed. */
interface TrafficPlan {
  mode: TrafficSchedule['mode']
  stages: RateStage[]
  /** Open loops: every planned send, lazily. */
  offsets?: () => Iterable<Planned>
  durationMs: number
  requests: number
  concurrency: number
  arrival: ArrivalProcess
  burstiness: number
  trace?: Trace
  traceBlockSize: number
  timeScale: number
  dataset?: Conversation[]
  promptsName: string
  inputTokens: number
  prefixTokens: number
  peakRate: number
  checkInterval: number
  endWhen?: (snapshot: TrafficSnapshot) => boolean
  clock: Clock
  hooks: TrafficHooks
}

/**
 * The traffic workload (`fluxperf traffic`, `traffic()`): independent single-turn requests.
 * - `rate`: an open loop at `rate` per second (constant gaps, Poisson or gamma, seeded) for `duration` seconds.
 * - `stages`: open-loop stages back to back; each stage is its own group (round) in the result.
 * - `trace`: an open loop at the trace's recorded times (× `timeScale`), each request with its own prompt
 *   length and `max_tokens`; requests sharing `hash_ids` share prompt prefixes, so the server's prefix cache
 *   sees the sharing the trace had.
 * - `concurrency`: a closed loop, `concurrency` requests in flight, `requests` in all (or for `duration`).
 *
 * Open loops send at the intended time whatever is in flight; a send that waits for a connection (beyond
 * `maxConcurrency`) has the wait in its schedule lag and in TTFT and latency from the intended send, so an
 * overloaded server shows, never hides (coordinated omission).
 */
export const TRAFFIC: WorkloadDefinition<TrafficOptions, TrafficResult> = {
  name: 'traffic',
  kind: 'traffic',
  keys: { options: KEYS, hooks: { onInterval: true } satisfies KeysOf<Omit<TrafficHooks, keyof RunHooks>> },
  async prepare(options, seed) {
    const plan = await planOf(options, seed)
    const maxOutputTokens = plan.mode === 'trace' ? options.maxOutputTokens : (options.maxOutputTokens ?? TRAFFIC_DEFAULTS.maxOutputTokens)
    const shard = shardOf(options.shard, 'traffic')
    if (plan.mode === 'concurrency') shardWorkers(plan.concurrency, shard, '--concurrency')
    // A shard sends every n-th arrival: its share of the peak rate sizes its pool.
    const inFlight = plan.mode === 'concurrency'
      ? Math.ceil(plan.concurrency / shard.count)
      : (options.maxConcurrency ?? Math.min(1024, Math.max(4, Math.ceil((plan.peakRate * 5) / shard.count))))
    const settings: TrafficOptions = {
      ...options,
      maxOutputTokens,
      stages: plan.mode === 'stages' ? plan.stages : undefined,
      trace: plan.trace ? plan.trace.source : undefined,
      timeScale: plan.mode === 'trace' ? plan.timeScale : undefined,
      traceBlockSize: plan.mode === 'trace' ? plan.traceBlockSize : undefined,
      arrival: plan.mode === 'rate' || plan.mode === 'stages' ? plan.arrival : undefined,
      burstiness: plan.arrival === 'gamma' ? plan.burstiness : undefined,
      duration: plan.mode === 'rate' || plan.mode === 'concurrency' ? (Number.isFinite(plan.durationMs) ? plan.durationMs / 1000 : undefined) : undefined,
      requests: Number.isFinite(plan.requests) ? plan.requests : undefined,
      dataset: Array.isArray(options.dataset) ? (`${options.dataset.length} conversations` as unknown as string) : options.dataset,
      inputTokens: plan.dataset || plan.mode === 'trace' ? undefined : plan.inputTokens,
      prefixTokens: plan.dataset || plan.mode === 'trace' || plan.prefixTokens === 0 ? undefined : plan.prefixTokens,
      maxConcurrency: plan.mode === 'concurrency' ? undefined : inFlight,
      checkInterval: undefined,
      endWhen: undefined,
      clock: undefined,
    }
    // The pool as openRun sizes it (the open-file limit and maxConnections cap it too).
    const poolSize = Math.max(1, Math.min(inFlight, connectionCap(), options.maxConnections ?? Infinity))
    return { settings, inFlight, execute: (run) => execute(run, plan, poolSize) }
  },
}

async function planOf(options: TrafficOptions, seed: number): Promise<TrafficPlan> {
  const given = (['rate', 'stages', 'trace', 'concurrency'] as const).filter((k) => options[k] !== undefined)
  if (given.length !== 1) {
    throw new InputError(given.length === 0
      ? 'say what load to send: --rate <per second>, --stages <rate:seconds,...>, --trace <file> or --concurrency <n>'
      : `give one of --rate, --stages, --trace and --concurrency, not ${given.map((k) => `--${k}`).join(' and ')}`, given.length === 0 ? '--rate' : `--${given[1]}`)
  }
  const mode = given[0] as TrafficSchedule['mode']
  const d = TRAFFIC_DEFAULTS
  const arrival = options.arrival ?? d.arrival
  if (!ARRIVAL_PROCESSES.includes(arrival)) throw new InputError(`expected one of ${ARRIVAL_PROCESSES.join(', ')}, got "${arrival}"`, '--arrival')
  const burstiness = options.burstiness ?? d.burstiness
  positive(burstiness, '--burstiness')
  const checkInterval = options.checkInterval ?? d.checkInterval
  positive(checkInterval, 'checkInterval')
  if (options.duration !== undefined) positive(options.duration, '--duration')
  if (options.requests !== undefined) whole(options.requests, 1, '--requests')
  if (options.maxConcurrency !== undefined) whole(options.maxConcurrency, 1, '--max-concurrency')
  const inputTokens = options.inputTokens ?? d.inputTokens
  whole(inputTokens, 1, '--input-tokens')
  const prefixTokens = options.prefixTokens ?? d.prefixTokens
  whole(prefixTokens, 0, '--prefix-tokens')
  if (options.endWhen !== undefined && typeof options.endWhen !== 'function') throw new InputError('endWhen: expected a function', 'traffic')
  if ((options.timeScale !== undefined || options.traceBlockSize !== undefined) && mode !== 'trace') throw new InputError('applies to --trace only', options.timeScale !== undefined ? '--time-scale' : '--trace-block-size')
  if (options.dataset !== undefined && mode === 'trace') throw new InputError('a trace brings its own prompt lengths; give --trace or --dataset, not both', '--dataset')
  if (mode === 'trace' && (options.inputTokens !== undefined || options.prefixTokens !== undefined)) throw new InputError('a trace brings its own prompt lengths (input_length, hash_ids)', options.inputTokens !== undefined ? '--input-tokens' : '--prefix-tokens')
  if (options.dataset !== undefined && (options.inputTokens !== undefined || options.prefixTokens !== undefined)) throw new InputError('synthetic prompts only; the dataset brings its own', options.inputTokens !== undefined ? '--input-tokens' : '--prefix-tokens')
  if (mode === 'concurrency' && (options.arrival !== undefined || options.burstiness !== undefined)) throw new InputError('applies to --rate and --stages (a closed loop sends as requests end)', options.arrival !== undefined ? '--arrival' : '--burstiness')
  const dataset = typeof options.dataset === 'string' ? await loadDataset(options.dataset) : options.dataset
  const prompts = dataset?.filter((c) => c.userMessages.length > 0)
  if (dataset && (!prompts || prompts.length === 0)) throw new InputError('the dataset has no user messages', '--dataset')
  const common = {
    mode, arrival, burstiness, inputTokens, prefixTokens, checkInterval, endWhen: options.endWhen, clock: options.clock ?? systemClock, hooks: options.hooks ?? {},
    dataset: prompts, promptsName: prompts ? `dataset (${typeof options.dataset === 'string' ? options.dataset : `${prompts.length} conversations`})` : `synthetic, ${inputTokens} tokens${prefixTokens > 0 ? ` after a ${prefixTokens}-token shared prefix` : ''}`,
    traceBlockSize: d.traceBlockSize, timeScale: d.timeScale,
  }
  const random = createRandom(seed).fork()
  switch (mode) {
    case 'rate': {
      const rate = options.rate as number
      positive(rate, '--rate')
      const requests = options.requests ?? Infinity
      const durationMs = options.duration !== undefined ? options.duration * 1000 : options.requests !== undefined ? Infinity : d.duration * 1000
      if (Math.min(requests, (rate * durationMs) / 1000) > MAX_SENDS) throw new InputError(`--rate ${rate} schedules over ${MAX_SENDS.toLocaleString('en-US')} sends; lower --rate, --duration or --requests`, '--rate')
      const stages: RateStage[] = [{ rate, duration: durationMs / 1000 }]
      return { ...common, stages, durationMs, requests, concurrency: 0, peakRate: rate, offsets: () => limited(stagedOffsets(stages, arrival, burstiness, random), requests) }
    }
    case 'stages': {
      const stages = parseStages(options.stages, '--stages')
      if (options.duration !== undefined || options.requests !== undefined) throw new InputError('the stages set the length of the run; drop --duration and --requests', options.duration !== undefined ? '--duration' : '--requests')
      const sends = stages.reduce((n, s) => n + s.rate * s.duration, 0)
      if (sends > MAX_SENDS) throw new InputError(`the stages schedule ${Math.round(sends).toLocaleString('en-US')} sends; at most ${MAX_SENDS.toLocaleString('en-US')}`, '--stages')
      return { ...common, stages, durationMs: stagesDuration(stages) * 1000, requests: Infinity, concurrency: 0, peakRate: Math.max(...stages.map((s) => s.rate)), offsets: () => stagedOffsets(stages, arrival, burstiness, random) }
    }
    case 'trace': {
      const timeScale = options.timeScale ?? d.timeScale
      positive(timeScale, '--time-scale')
      const traceBlockSize = options.traceBlockSize ?? d.traceBlockSize
      whole(traceBlockSize, 1, '--trace-block-size')
      if (options.duration !== undefined || options.requests !== undefined) throw new InputError('a trace sets the length of the run; drop --duration and --requests', options.duration !== undefined ? '--duration' : '--requests')
      if (options.arrival !== undefined || options.burstiness !== undefined) throw new InputError('a trace sends at its recorded times; drop --arrival and --burstiness', options.arrival !== undefined ? '--arrival' : '--burstiness')
      const trace = typeof options.trace === 'string' ? await loadTrace(options.trace) : (options.trace as Trace)
      if (!trace || !Array.isArray(trace.entries) || trace.entries.length === 0) throw new InputError('the trace has no requests', '--trace')
      if (trace.entries.length > MAX_SENDS) throw new InputError(`the trace has ${trace.entries.length.toLocaleString('en-US')} requests; at most ${MAX_SENDS.toLocaleString('en-US')}`, '--trace')
      // Replayed from its first request: a trace cut from a longer one does not wait for its own start.
      const startMs = trace.startMs ?? 0
      const durationMs = (trace.durationMs - startMs) * timeScale
      const entries = trace.entries
      return {
        ...common, mode, trace, timeScale, traceBlockSize, stages: [], durationMs: durationMs + 1, requests: entries.length, concurrency: 0,
        peakRate: peakRateOf(entries.map((e) => (e.timestampMs - startMs) * timeScale)), promptsName: `trace (${trace.source})`,
        offsets: () => entries.map((entry) => ({ offsetMs: (entry.timestampMs - startMs) * timeScale, stage: 0, entry })),
      }
    }
    case 'concurrency': {
      const concurrency = options.concurrency as number
      whole(concurrency, 1, '--concurrency')
      const durationMs = options.duration !== undefined ? options.duration * 1000 : Infinity
      const requests = options.requests ?? (options.duration !== undefined ? Infinity : d.closedLoopRequests)
      return { ...common, stages: [], durationMs, requests, concurrency, peakRate: 0 }
    }
  }
}

/** Highest number of sends in any one-second window of these offsets (ms), as a rate. */
function peakRateOf(offsets: readonly number[]): number {
  let peak = 0
  let from = 0
  const sorted = [...offsets].sort((a, b) => a - b)
  for (let to = 0; to < sorted.length; to++) {
    while ((sorted[to] as number) - (sorted[from] as number) >= 1000) from++
    peak = Math.max(peak, to - from + 1)
  }
  return peak
}

function* limited<T>(items: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return
  let k = 0
  for (const item of items) {
    yield item
    if (++k >= n) return
  }
}

/** One request's messages, and the tools its dataset row offers. */
interface Prompt {
  messages: ChatMessage[]
  tools?: RequestMeta['tools']
}

/** Builds each request's messages: from the trace, the dataset, or synthetic text. */
function promptSource(run: WorkloadRun, plan: TrafficPlan): (index: number, entry?: TraceEntry) => Prompt {
  const random = createRandom(run.seed).fork().fork()
  if (plan.trace) {
    const prompts = tracePrompts(run.tokenizer, { blockSize: plan.traceBlockSize, seed: run.seed })
    return (_, entry) => ({ messages: prompts.prompt(entry as TraceEntry) })
  }
  if (plan.dataset) {
    const order = random.shuffle(plan.dataset.map((_, i) => i))
    const dataset = plan.dataset
    return (index) => {
      const conv = dataset[order[index % order.length] as number] as Conversation
      return { messages: [{ role: 'user', content: conv.userMessages[0] as string }], ...conversationTools(conv) }
    }
  }
  const prefix = exactTokenText(run.tokenizer, plan.prefixTokens, random.fork())
  const seeds = random.fork()
  // One sub-stream per request, drawn in index order, so request k's prompt does not depend on timing; a stream
  // is dropped once used (the closed loop asks in order, the open loops too), so memory does not grow with the run.
  const streams = new Map<number, Random>()
  let drawn = 0
  return (index) => {
    // Every stream is drawn (request k's is the k-th), but a shard keeps only its own.
    while (drawn <= index) {
      const stream = seeds.fork()
      if (ownedBy(drawn, run.shard)) streams.set(drawn, stream)
      drawn++
    }
    const own = streams.get(index) as Random
    streams.delete(index)
    return { messages: [{ role: 'user', content: prefix + exactTokenText(run.tokenizer, plan.inputTokens, own, { leadingSpace: prefix.length > 0 }) }] }
  }
}

function groupLabel(plan: TrafficPlan, stage: number): string {
  switch (plan.mode) {
    case 'rate': return `Rate${(plan.stages[0] as RateStage).rate.toFixed(2)}`
    case 'stages': return `Stage${stage + 1}-Rate${(plan.stages[stage] as RateStage).rate.toFixed(2)}`
    case 'trace': return 'Trace'
    case 'concurrency': return `Concurrency${plan.concurrency}`
  }
}

async function execute(run: WorkloadRun, plan: TrafficPlan, poolSize: number): Promise<WorkloadOutcome<TrafficResult>> {
  const { clock, hooks } = plan
  const reset = await run.resetCache()
  const prompt = promptSource(run, plan)
  const groups: MeasuredGroup[] = []
  const expected = (stage: number): number => {
    const s = plan.stages[stage]
    const n = plan.mode === 'rate' || plan.mode === 'stages' ? Math.min(plan.requests, Math.ceil((s as RateStage).rate * (s as RateStage).duration)) : plan.requests
    return Number.isFinite(n) ? Math.ceil(n / run.shard.count) : 0
  }
  const groupOf = (stage: number): MeasuredGroup => {
    for (let k = groups.length; k <= stage; k++) groups.push(run.group({ label: groupLabel(plan, k), concurrency: plan.concurrency, round: 1 }, expected(k)))
    return groups[stage] as MeasuredGroup
  }
  const tally = new OpenLoopTally()
  const watch = new SaturationWatch()
  /** Intended times (clock ms) of sends not answered yet: a queue that never answers is saturation too. */
  const waiting = new Map<number, number>()
  const inFlight = new Set<Promise<void>>()
  const stop = new AbortController()
  const onAbort = (): void => {
    stoppedAt ??= clock.now()
    stop.abort()
  }
  run.signal.addEventListener('abort', onAbort, { once: true })
  if (run.signal.aborted) onAbort()
  const startAt = clock.now()
  const toEpoch = epochTie(clock)
  let sent = 0
  let settled = 0
  let scheduled = 0
  let current = 0
  let lastSendAt = startAt
  let endedBy: TrafficSchedule['endedBy'] = 'schedule'
  /** When sending stopped before the schedule's end (endWhen, or an interruption): the achieved rate's window ends there. */
  let stoppedAt: number | undefined
  /** The next planned send's offset (ms) while the open loop waits for it or is late for it; its intended time once fired. */
  let pendingOffset: number | undefined
  let lastIntendedOffset = 0
  /** Requests that waited for a connection (the pool, `maxConcurrency`, was full): the client limited the load. */
  let connectionWaits = 0
  /** The first error thrown while sending (a hook, a report writer): rethrown once the requests in flight end. */
  let failure: unknown
  const fail = (error: unknown): void => {
    failure ??= error
    stop.abort()
  }

  const send = (index: number, stage: number, intendedAt: number | undefined, entry?: TraceEntry): Promise<void> => {
    const group = groupOf(stage)
    current = stage
    const now = clock.now()
    lastSendAt = Math.max(lastSendAt, now)
    const id = `r${index + 1}`
    const { messages, tools } = prompt(index, entry)
    const intendedEpoch = intendedAt === undefined ? undefined : toEpoch(intendedAt)
    const scheduledSend: ScheduledSend | undefined = intendedAt === undefined ? undefined : {
      index, userId: 0, question: 0, intendedAt: intendedEpoch as number, sentAt: toEpoch(now), lagMs: now - intendedAt, late: false, dropped: false, requestId: id,
    }
    if (scheduledSend) {
      tally.sent(scheduledSend)
      waiting.set(index, intendedAt as number)
      // Every connection busy: this request waits for one (its wait is in its lag), the client's limit.
      if (sent - settled >= poolSize) connectionWaits++
    }
    sent++
    const sessionId = entry?.sessionId ?? id
    if (run.debugging) run.debug(() => ({ id, session_id: sessionId, turn_index: 0, round: 1, concurrency: plan.concurrency, messages: messages.map((m) => ({ role: m.role, content: m.content })), context_tokens: 0, truncated_turns: 0 }))
    return group.send(messages, {
      id, index, sessionId, turnIndex: 0, round: 1, concurrency: plan.concurrency,
      ...(intendedEpoch !== undefined ? { scheduledAt: intendedEpoch } : {}),
      ...(entry ? { maxTokens: entry.outputLength } : {}),
      ...(tools ? { tools } : {}),
    }).then((record: RequestRecord) => {
      if (scheduledSend) {
        lagUntilStarted(scheduledSend, record, clock)
        tally.settled(scheduledSend, record)
        if (record.ok && record.ttftMs !== null && scheduledSend.lagMs !== null) watch.add(intendedAt as number, scheduledSend.lagMs + record.ttftMs, record.latencyMs - record.ttftMs)
      }
    }).catch(fail).finally(() => {
      settled++
      waiting.delete(index)
    })
  }

  /**
   * Sends made and sends the schedule asked for by `now`: the open loop fires every due send at once, so it is
   * behind only while the next one is overdue (a busy client), by its lateness at the mean rate.
   */
  const rates = (now: number): { sentRate: number; targetRate: number } => {
    const elapsedS = Math.max((now - startAt) / 1000, 1e-9)
    const behindS = pendingOffset !== undefined && pendingOffset <= now - startAt ? (now - startAt - pendingOffset) / 1000 : 0
    const meanRate = (plan.mode === 'trace' ? plan.requests / Math.max(plan.durationMs / 1000, 1e-9) : ((plan.stages[current] as RateStage | undefined)?.rate ?? 0)) / run.shard.count
    // A send a timer tick late is not behind: only sends owed at the mean rate, two or more, count.
    const owed = behindS * meanRate
    const due = scheduled + (owed >= 2 ? owed : 0)
    return { sentRate: scheduled / elapsedS, targetRate: due / elapsedS }
  }

  const snapshot = (): TrafficSnapshot => {
    const now = clock.now()
    const elapsedMs = now - startAt
    const { sentRate, targetRate } = rates(now)
    const saturation = plan.mode === 'concurrency' ? { saturated: false, reasons: [], ttftThirdsMs: null, rateRatio: 1 } : watch.assess(sentRate, targetRate, [...waiting.values()], now)
    return { elapsedS: elapsedMs / 1000, round: groupOf(current).snapshot(), sent, settled, connectionWaits, saturation }
  }
  // Requests in flight, sampled while the schedule sends (the over-saturation trend; src/metrics/saturation.ts).
  let sending = true
  const sampler = plan.mode === 'concurrency' ? undefined : setInterval(() => {
    if (sending) watch.sampleInFlight(clock.now(), sent - settled)
  }, IN_FLIGHT_SAMPLE_MS)
  sampler?.unref()
  const timer = setInterval(() => {
    // Only while sending: once the schedule has ended, what finishes no longer changes what was sent.
    if (!sending || (hooks.onInterval === undefined && plan.endWhen === undefined)) return
    try {
      const s = snapshot()
      hooks.onInterval?.(s)
      if (!stop.signal.aborted && plan.endWhen?.(s)) {
        endedBy = 'endWhen'
        stoppedAt = clock.now()
        stop.abort()
      }
    } catch (error) {
      fail(error)
    }
  }, plan.checkInterval * 1000)
  timer.unref()

  try {
    await run.phase(plan.mode === 'trace' ? 'Trace' : groupLabel(plan, 0), async () => {
      if (plan.mode === 'concurrency') {
        const deadline = startAt + plan.durationMs
        const total = Number.isFinite(plan.requests) ? plan.requests : MAX_SENDS
        // A shard sends requests index mod n with its share of the workers.
        let next = run.shard.index
        const workers = shardWorkers(plan.concurrency, run.shard, '--concurrency')
        await runClosedLoop(Array.from({ length: workers }, (_, i) => i), workers, async () => {
          while (next < total && !stop.signal.aborted && clock.now() < deadline) {
            const index = next
            next += run.shard.count
            scheduled++
            await send(index, 0, undefined)
            lastSendAt = clock.now()
          }
        }, stop.signal)
        if (!stop.signal.aborted && clock.now() >= deadline && Number.isFinite(plan.durationMs)) endedBy = 'schedule'
        return
      }
      const planned = (plan.offsets as () => Iterable<Planned>)()
      // The open loop pulls one offset ahead of the send it fires: the one plan not yet sent. A shard takes every
      // n-th arrival of the whole run's schedule (the same seed draws the same one), keeping its index.
      let next: { plan: Planned; index: number } | undefined
      const offsets = (function* () {
        let index = 0
        for (const p of planned) {
          if (ownedBy(index, run.shard)) {
            next = { plan: p, index }
            pendingOffset = p.offsetMs
            yield p.offsetMs
          }
          index++
        }
        pendingOffset = undefined
      })()
      await runOpenLoop({
        offsets,
        durationMs: plan.durationMs,
        clock,
        startAt,
        signal: stop.signal,
        onArrival(arrival) {
          const { plan: p, index } = next as { plan: Planned; index: number }
          lastIntendedOffset = p.offsetMs
          pendingOffset = undefined
          scheduled++
          const promise = send(index, p.stage, arrival.intendedAt, p.entry).finally(() => inFlight.delete(promise))
          inFlight.add(promise)
          // No afterBurst() here: an open loop sends no burst, and the two collections it forces in precision
          // mode, every 64 sends, delayed the sends due next (docs/design/precision.md, "afterBurst()").
        },
      })
      sending = false
      while (inFlight.size > 0) await Promise.all([...inFlight])
    })
  } finally {
    sending = false
    if (sampler) clearInterval(sampler)
    clearInterval(timer)
    run.signal.removeEventListener('abort', onAbort)
  }
  if (failure !== undefined) throw failure
  if (run.signal.aborted) endedBy = 'interrupted'
  const end = clock.now()
  if (groups.length === 0) groupOf(0)
  const rounds: RoundResult[] = []
  for (const [k, group] of groups.entries()) rounds.push(await group.end(k === 0 ? reset : undefined))
  const elapsedMs = end - startAt
  // The schedule's own length (its last stretch has no send in it but is part of the rate), or up to where sending
  // stopped; stretched to the last actual send when sends went out late.
  // A schedule without an end (--requests alone) ends a mean gap after its last intended send.
  const openEndedMs = plan.mode === 'rate' ? lastIntendedOffset + (1000 * run.shard.count) / (plan.stages[0] as RateStage).rate : end - startAt
  const scheduledMs = stoppedAt !== undefined ? stoppedAt - startAt : Number.isFinite(plan.durationMs) ? plan.durationMs : openEndedMs
  const windowS = Math.max(scheduledMs, lastSendAt - startAt) / 1000
  // A shard sends every n-th arrival: its share of the rate.
  const meanRate = (plan.mode === 'concurrency' ? 0 : plan.mode === 'trace' ? plan.requests / Math.max(plan.durationMs / 1000, 1e-9) : meanStageRate(plan, scheduledMs)) / run.shard.count
  // Sends due are those the schedule fired, plus any still owed had it not been stopped (see rates()).
  const final = rates(end)
  const saturation = plan.mode === 'concurrency' ? undefined : watch.assess(final.sentRate, final.targetRate)
  const schedule: TrafficSchedule = {
    mode: plan.mode,
    ...(plan.mode === 'rate' ? { rate: (plan.stages[0] as RateStage).rate } : {}),
    ...(plan.mode === 'stages' ? { stages: plan.stages } : {}),
    ...(plan.mode === 'rate' || plan.mode === 'stages' ? { arrival: plan.arrival, ...(plan.arrival === 'gamma' ? { burstiness: plan.burstiness } : {}) } : {}),
    ...(plan.mode === 'concurrency' ? { concurrency: plan.concurrency } : {}),
    ...(plan.trace ? { trace: { source: plan.trace.source, requests: plan.trace.entries.length, timeScale: plan.timeScale, blockSize: plan.traceBlockSize, impliedPrefixShare: impliedPrefixShare(plan.trace.entries, plan.traceBlockSize) } } : {}),
    prompts: plan.promptsName,
    sent,
    connectionWaits,
    elapsedS: elapsedMs / 1000,
    endedBy,
    tokenizer: run.tokenizer.encoding,
  }
  return {
    rounds,
    speedups: [],
    section: {
      ...(plan.mode === 'concurrency' ? {} : { openLoop: tally.summary(meanRate, windowS, scheduled) }),
      ...(saturation ? { saturation } : {}),
      schedule,
    },
  }
}

/** Sends per second the schedule asked for over its first `elapsedMs` (stages weighted by their time). */
function expectedRate(plan: TrafficPlan, elapsedMs: number): number {
  let left = elapsedMs / 1000
  let sends = 0
  let time = 0
  for (const s of plan.stages) {
    const t = Math.min(left, s.duration)
    sends += t * s.rate
    time += t
    left -= t
    if (left <= 0) break
  }
  return time > 0 ? sends / time : ((plan.stages[0] as RateStage | undefined)?.rate ?? 0)
}

/** The schedule's mean rate over its first `windowMs` (stages weighted by their time; all of them when it ran to its end). */
function meanStageRate(plan: TrafficPlan, windowMs: number): number {
  return expectedRate(plan, Math.min(windowMs, stagesDuration(plan.stages) * 1000))
}

function positive(n: unknown, flag: string): void {
  if (typeof n !== 'number' || !(n > 0) || !Number.isFinite(n)) throw new InputError(`expected a number > 0, got ${JSON.stringify(n)}`, flag)
}

function whole(n: unknown, min: number, flag: string): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) throw new InputError(`expected a whole number ≥ ${min}, got ${JSON.stringify(n)}`, flag)
}

/**
 * Runs the traffic workload against `options.endpoint` (no host defaults: see `traffic()` for the Vitest-aware
 * function) and returns its RunResult.
 */
export function runTraffic(options: TrafficOptions, extras?: RunExtras): Promise<TrafficResult> {
  return runWorkload(TRAFFIC, options, extras)
}
