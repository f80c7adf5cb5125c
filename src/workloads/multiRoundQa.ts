import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { exactTokenText, loadDataset } from '../data/index.ts'
import { InputError } from '../errors.ts'
import { MetricRecorder, summariseRound } from '../metrics/index.ts'
import { createRandom } from '../random.ts'
import type { Random } from '../random.ts'
import { AppendFile, ensureOutputDir, qaCsvRow, QA_CSV_COLUMNS, qaFileNames, qaSummaryText, realtimeHeader, realtimeLine } from '../report/index.ts'
import { addClientWait, ARRIVAL_PROCESSES, arrivalOffsets, runOpenLoop, systemClock } from '../schedule/index.ts'
import type { ArrivalProcess, Clock, ScheduledSend } from '../schedule/index.ts'
import type { GoodputSlo } from '../slo/index.ts'
import type { Conversation, OpenLoopSummary, RequestRecord, RoundResult, RunResult } from '../types.ts'
import { byTurn } from './groupStats.ts'
import { checkWorkloadOptions, goodputRule } from './options.ts'
import type { EndpointSettings, RunHooks } from './options.ts'
import { openRun } from './run.ts'
import { Session } from './session.ts'

/** Callbacks of the QA workload: the common ones, each scheduled send as it is decided, and the periodic summaries. */
export interface MultiRoundQaHooks extends RunHooks {
  /** A periodic summary (every `logInterval` seconds) or the final one, as text. */
  onSummary?(text: string, final: boolean): void
}

/** The multi-round QA workload (seed 004): users in an open loop at a target aggregate rate. */
export interface MultiRoundQaOptions extends EndpointSettings {
  /** Target aggregate rate, requests per second (`--qps`). */
  qps: number
  /** Users active at once (`--num-users`). @default 10 */
  numUsers?: number
  /** Questions per user before it is replaced by a new user (`--num-rounds`). @default 5 */
  numRounds?: number
  /** Tokens of the system prompt shared by every user (`--shared-system-prompt`). @default 100 */
  sharedSystemPrompt?: number
  /** Tokens of each user's own history, after the shared prompt (`--user-history-prompt`). @default 100 */
  userHistoryPrompt?: number
  /** `max_tokens` of every answer (`--answer-len`); same as `maxOutputTokens`. @default 200 */
  answerLen?: number
  /** Length of the schedule, seconds (`--time`): sends are scheduled in [0, time). @default 60 */
  time?: number
  /** Arrival process of the aggregate schedule. @default 'constant' */
  arrival?: ArrivalProcess
  /** Gamma shape for `arrival: 'gamma'` (1 = Poisson, < 1 burstier). @default 1 */
  burstiness?: number
  /** Questions from a ShareGPT-style dataset (file or loaded conversations) instead of synthetic ones. */
  sharegpt?: string | Conversation[]
  /** Id of the first user (`--init-user-id`). @default 0 */
  initUserId?: number
  /**
   * Where the seed's files go: `realtime_stats_qps_X.XX.txt`, `performance_summary_qps_X.XX.txt`
   * (every `logInterval` s) and `final_performance_summary_qps_X.XX.txt`. @default no files
   */
  outputDir?: string
  /** CSV of every scheduled send (`--output`). @default none */
  outputCsv?: string
  /** Seconds between periodic summaries. @default 30 */
  logInterval?: number
  /** POST here before the first request to empty the server's prefix cache. */
  resetCacheUrl?: string
  /** Per-request SLO limits (`ttft_ms` or `ttftMs`, `tpot_ms`, `latency_ms`); when given, the round reports goodput. */
  goodputSlo?: GoodputSlo
  /** Time source of the schedule (tests inject a virtual one). @default performance.now() and timers */
  clock?: Clock
  hooks?: MultiRoundQaHooks
}

export const MULTI_ROUND_QA_DEFAULTS = {
  numUsers: 10,
  numRounds: 5,
  sharedSystemPrompt: 100,
  userHistoryPrompt: 100,
  answerLen: 200,
  time: 60,
  logInterval: 30,
  initUserId: 0,
  arrival: 'constant' as ArrivalProcess,
  burstiness: 1,
}

/** The synthetic question of a round (the seed's wording). */
export function syntheticQuestion(question: number): string {
  return `Here's question #${question + 1}: can you tell me a new long story with a happy ending?`
}

/** A user: its conversation so far, the rounds scheduled for it, and what waits for its answer. */
interface User {
  id: number
  session: Session
  questions: (q: number) => string
  scheduled: number
  busy: boolean
  waiting: ScheduledSend[]
}

/** Most sends one schedule may hold (each is kept for the CSV): a million is hours at hundreds of QPS. */
const MAX_SCHEDULED_SENDS = 1_000_000

/**
 * Runs the multi-round QA workload. Sends are scheduled up front at the aggregate rate `qps`
 * (constant gaps by default, or Poisson / gamma, seeded) for `time` seconds, and dealt round robin to
 * `numUsers` user slots: the first `numUsers` sends each bring a new user, a user that has been
 * given its `numRounds` questions leaves and the next send of its slot brings a new user. Every
 * request carries the user's whole conversation: the shared system prompt (exactly
 * `sharedSystemPrompt` tokens), the user's own history (exactly `userHistoryPrompt` tokens), then
 * every earlier question and real answer.
 *
 * A user has one request in flight at a time. When a send's time comes while the same user's
 * previous answer is still streaming, the send waits and goes out as soon as that answer ends: it is
 * counted **late**, and its lag shows in the schedule-lag statistics and in the latency measured
 * from the intended send time. A send still waiting when the schedule ends (`time` seconds) is
 * **dropped**, and counted. Every scheduled send is in the `--output` CSV.
 */
export async function runMultiRoundQa(options: MultiRoundQaOptions): Promise<RunResult> {
  checkWorkloadOptions(options, 'multiRoundQa')
  const o = { ...MULTI_ROUND_QA_DEFAULTS, ...definedOnly(options), qps: options.qps }
  positive(o.qps, '--qps')
  positive(o.time, '--time')
  positive(o.logInterval, '--log-interval')
  whole(o.numUsers, 1, '--num-users')
  whole(o.numRounds, 1, '--num-rounds')
  whole(o.sharedSystemPrompt, 0, '--shared-system-prompt')
  whole(o.userHistoryPrompt, 0, '--user-history-prompt')
  whole(o.initUserId, 0, '--init-user-id')
  const answerLen = options.maxOutputTokens ?? o.answerLen
  whole(answerLen, 1, '--answer-len')
  if (!ARRIVAL_PROCESSES.includes(o.arrival)) throw new InputError(`expected one of ${ARRIVAL_PROCESSES.join(', ')}, got "${o.arrival}"`, '--arrival')
  positive(o.burstiness, '--burstiness')
  if (o.qps * o.time > MAX_SCHEDULED_SENDS) {
    throw new InputError(`--qps ${o.qps} for --time ${o.time} s schedules ${Math.round(o.qps * o.time).toLocaleString('en-US')} sends; at most ${MAX_SCHEDULED_SENDS.toLocaleString('en-US')} (lower --qps or --time)`, '--qps')
  }
  const dataset = typeof o.sharegpt === 'string' ? await loadDataset(o.sharegpt) : o.sharegpt
  if (dataset && dataset.every((c) => c.userMessages.length === 0)) throw new InputError('the dataset has no user questions', '--sharegpt')
  const hooks = options.hooks ?? {}
  const clock = options.clock ?? systemClock
  const names = qaFileNames(o.qps)
  if (o.outputDir) ensureOutputDir(o.outputDir)

  const settings = {
    ...options, numUsers: o.numUsers, numRounds: o.numRounds, sharedSystemPrompt: o.sharedSystemPrompt, userHistoryPrompt: o.userHistoryPrompt,
    answerLen, time: o.time, arrival: o.arrival, burstiness: o.arrival === 'gamma' ? o.burstiness : undefined, initUserId: o.initUserId,
    logInterval: o.logInterval, maxOutputTokens: answerLen, clock: undefined,
    sharegpt: Array.isArray(o.sharegpt) ? `${o.sharegpt.length} conversations` : o.sharegpt,
  }
  // Two connections per user slot: a user's next question, or a replacement user's first, never waits
  // for the end of a body still draining on the connection of the answer before it.
  const run = await openRun(settings, 'multi-round-qa', o.numUsers * 2, hooks.onNotice)
  const reset = await run.resetCache(options.resetCacheUrl)
  const random = createRandom(run.seed)
  const shared = exactTokenText(run.tokenizer, o.sharedSystemPrompt, random.fork())
  const arrivals = random.fork()
  const userStreams = random.fork()
  const datasetOrder = dataset ? random.shuffle(dataset.map((_, i) => i).filter((i) => (dataset[i] as Conversation).userMessages.length > 0)) : []

  const label = `QPS${o.qps.toFixed(2)}`
  const sends: ScheduledSend[] = []
  const records: RequestRecord[] = []
  const recordOf = new Map<string, RequestRecord>()
  const slots: (User | undefined)[] = Array.from({ length: o.numUsers }, () => undefined)
  const inFlight = new Set<Promise<void>>()
  let usersCreated = 0
  let ended = false
  const realtime = o.outputDir ? new AppendFile(join(o.outputDir, names.realtime)) : undefined
  const periodic = o.outputDir ? new AppendFile(join(o.outputDir, names.periodic)) : undefined
  realtime?.write(realtimeHeader(o.qps))
  const meets = goodputRule(options.goodputSlo, 'multiRoundQa')

  const newUser = (): User => {
    const id = o.initUserId + usersCreated++
    const rng: Random = userStreams.fork()
    const history = exactTokenText(run.tokenizer, o.userHistoryPrompt, rng, { leadingSpace: o.sharedSystemPrompt > 0 })
    const system = shared + history
    const questions = dataset ? datasetQuestions(dataset, datasetOrder, id - o.initUserId) : syntheticQuestion
    return { id, session: new Session(`user-${id}`, run.tokenizer, {}, system || undefined), questions, scheduled: 0, busy: false, waiting: [] }
  }

  // The clock's timeline and the wall clock, tied once, so intended times are exact epoch ms.
  const startAt = clock.now()
  const epochAtStart = Date.now()
  const toEpoch = (t: number): number => epochAtStart + (t - startAt)

  let lastSendAt = startAt
  const start = (user: User, send: ScheduledSend): void => {
    user.busy = true
    const now = clock.now()
    lastSendAt = Math.max(lastSendAt, now)
    send.sentAt = toEpoch(now)
    send.lagMs = now - (send.intendedAt - epochAtStart + startAt)
    const id = `u${user.id}-q${send.question + 1}`
    send.requestId = id
    const built = user.session.next(user.questions(send.question))
    hooks.onDebug?.({ id, session_id: user.session.id, turn_index: send.question, round: 1, concurrency: 0, messages: built.messages, context_tokens: built.contextTokens, truncated_turns: built.truncatedTurns })
    const p = run.send(built.messages, { id, index: send.index, sessionId: user.session.id, turnIndex: send.question, round: 1, concurrency: 0, scheduledAt: send.intendedAt })
      .then((record) => {
        // A replacement user's first request can wait for a connection while the old user's last answer
        // still streams: that wait is the send's lag too.
        addClientWait(send, record.queuedMs)
        records.push(record)
        recordOf.set(id, record)
        if (record.ok) user.session.reply(record.outputText)
        realtime?.write(realtimeLine(record, send))
        hooks.onRequest?.(record)
        user.busy = false
        const next = user.waiting.shift()
        if (next && !ended) start(user, next)
      })
      .finally(() => inFlight.delete(p))
    inFlight.add(p)
  }

  const summary = (): { round: RoundResult; openLoop: OpenLoopSummary } => {
    const round = summariseRound({ label, concurrency: 0, round: 1 }, records, meets)
    return { round, openLoop: openLoopSummary(o.qps, rateWindowS(clock.now()), sends, recordOf) }
  }
  /**
   * The window the achieved rate divides by: the schedule's length (or up to the stop), stretched to
   * the last actual send when sends went out after it (a client too busy to keep time shows as a
   * lower rate, never hidden).
   */
  const rateWindowS = (until: number): number => Math.max(Math.min(o.time * 1000, until - startAt), lastSendAt - startAt) / 1000
  const timer = setInterval(() => {
    const s = summary()
    const text = qaSummaryText({ title: `Performance summary at ${new Date().toISOString()}`, elapsedS: (clock.now() - startAt) / 1000, ...s })
    periodic?.write(text + '\n')
    hooks.onSummary?.(text, false)
  }, o.logInterval * 1000)
  timer.unref()

  hooks.onRoundStart?.({ label, concurrency: 0, round: 1, total: Math.ceil(o.time * o.qps) })
  const durationMs = o.time * 1000
  let stoppedAt: number | undefined
  try {
    const loop = await runOpenLoop({
      offsets: arrivalOffsets({ rate: o.qps, process: o.arrival, burstiness: o.burstiness }, arrivals),
      durationMs,
      clock,
      startAt,
      signal: run.signal,
      onArrival(arrival) {
        const slot = arrival.index % o.numUsers
        let user = slots[slot]
        if (!user || user.scheduled >= o.numRounds) slots[slot] = user = newUser()
        const send: ScheduledSend = {
          index: arrival.index, userId: user.id, question: user.scheduled++, intendedAt: toEpoch(arrival.intendedAt),
          sentAt: null, lagMs: null, late: false, dropped: false, requestId: null,
        }
        sends.push(send)
        if (user.busy) {
          send.late = true
          user.waiting.push(send)
        } else {
          start(user, send)
        }
      },
    })
    // Sends still waiting may go out until the schedule's end; after it they are dropped.
    if (!loop.stopped) await clock.sleepUntil(startAt + durationMs, run.signal)
    stoppedAt = run.signal.aborted ? clock.now() : startAt + durationMs
    ended = true
    for (const user of slots) for (const send of user?.waiting.splice(0) ?? []) markDropped(send)
    while (inFlight.size > 0) await Promise.all([...inFlight])
    // Sends of users that left their slot (a full user replaced while its last answer streamed).
    for (const send of sends) if (send.sentAt === null && !send.dropped) markDropped(send)
  } finally {
    clearInterval(timer)
    await run.close()
  }

  const round: RoundResult = { ...summariseRound({ label, concurrency: 0, round: 1 }, records, meets), cacheReset: reset }
  const loopSummary = openLoopSummary(o.qps, rateWindowS(stoppedAt ?? clock.now()), sends, recordOf)
  await hooks.onRoundComplete?.(round, records, run.context)
  const result = run.result([round], [])
  result.openLoop = loopSummary
  result.byTurn = byTurn(records)

  const finalText = qaSummaryText({
    title: 'Final performance summary', elapsedS: ((stoppedAt ?? clock.now()) - startAt) / 1000, round, openLoop: loopSummary,
    config: {
      model: run.model, endpoint: run.context.endpoint, seed: run.seed, qps: o.qps, arrival: o.arrival, burstiness: o.arrival === 'gamma' ? o.burstiness : undefined,
      num_users: o.numUsers, num_rounds: o.numRounds, shared_system_prompt: o.sharedSystemPrompt, user_history_prompt: o.userHistoryPrompt,
      answer_len: answerLen, ignore_eos: options.ignoreEos ?? false, time_s: o.time, users_created: usersCreated,
      questions: dataset ? `ShareGPT (${typeof o.sharegpt === 'string' ? o.sharegpt : `${dataset.length} conversations`})` : 'synthetic',
      tokenizer: run.tokenizer.encoding, interrupted: result.interrupted || undefined,
    },
  })
  hooks.onSummary?.(finalText, true)
  realtime?.close()
  periodic?.close()
  if (o.outputDir) writeFileSync(join(o.outputDir, names.final), finalText)
  if (o.outputCsv) {
    mkdirSync(dirname(o.outputCsv), { recursive: true })
    const rows = sends.map((s) => qaCsvRow(s, s.requestId ? recordOf.get(s.requestId) : undefined))
    writeFileSync(o.outputCsv, [QA_CSV_COLUMNS.join(','), ...rows].join('\n') + '\n')
  }
  return result

  function markDropped(send: ScheduledSend): void {
    send.dropped = true
    send.late = false
  }
}

/**
 * Target vs achieved rate, late and dropped sends, schedule lag, and times from the intended send. The lag
 * of a send runs from its intended time to the moment its request was written (addClientWait), so it
 * includes any wait for a connection inside the client.
 */
export function openLoopSummary(targetRate: number, windowS: number, sends: readonly ScheduledSend[], recordOf: ReadonlyMap<string, RequestRecord>): OpenLoopSummary {
  const lag = new MetricRecorder()
  const ttft = new MetricRecorder()
  const latency = new MetricRecorder()
  let sent = 0
  let late = 0
  let dropped = 0
  for (const s of sends) {
    if (s.dropped) dropped++
    if (s.sentAt === null || s.lagMs === null) continue
    sent++
    if (s.late) late++
    lag.record(s.lagMs)
    const r = s.requestId ? recordOf.get(s.requestId) : undefined
    if (!r?.ok) continue
    latency.record(s.lagMs + r.latencyMs)
    if (r.ttftMs !== null) ttft.record(s.lagMs + r.ttftMs)
  }
  return {
    targetRate,
    achievedRate: windowS > 0 ? sent / windowS : 0,
    scheduled: sends.length,
    sent,
    late,
    dropped,
    scheduleLag: lag.summary(),
    latencyFromScheduled: latency.summary(),
    ttftFromScheduled: ttft.summary(),
  }
}

/**
 * The questions of the n-th user from a ShareGPT-style dataset: the user messages of one conversation
 * (in the run's seeded order), continued by those of the next conversations when it has fewer turns
 * than the user asks questions.
 */
function datasetQuestions(dataset: readonly Conversation[], order: readonly number[], n: number): (q: number) => string {
  return (q) => {
    let k = n
    let left = q
    for (;;) {
      const conv = dataset[order[k % order.length] as number] as Conversation
      if (left < conv.userMessages.length) return conv.userMessages[left] as string
      left -= conv.userMessages.length
      k++
    }
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function positive(n: number, flag: string): void {
  if (!(n > 0) || !Number.isFinite(n)) throw new InputError(`expected a number > 0, got ${n}`, flag)
}

function whole(n: number, min: number, flag: string): void {
  if (!Number.isInteger(n) || n < min) throw new InputError(`expected a whole number ≥ ${min}, got ${n}`, flag)
}
