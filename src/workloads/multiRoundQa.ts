import { exactTokenText, loadDataset } from '../data/index.ts'
import { InputError } from '../errors.ts'
import { MetricRecorder } from '../metrics/index.ts'
import { createRandom } from '../random.ts'
import type { Random } from '../random.ts'
import { ARRIVAL_PROCESSES, arrivalOffsets, epochTie, lagUntilStarted, runOpenLoop, systemClock } from '../schedule/index.ts'
import type { ArrivalProcess, Clock, ScheduledSend } from '../schedule/index.ts'
import type { Conversation, MultiRoundQaResult, OpenLoopSummary, RequestRecord, RoundResult } from '../types.ts'
import { runWorkload } from './engine.ts'
import type { RunExtras, WorkloadDefinition, WorkloadOutcome, WorkloadRun } from './engine.ts'
import { GroupedStats, turnStats } from './groupStats.ts'
import { ownedBy, shardOf } from './options.ts'
import type { KeysOf, RunHooks, WorkloadSettings } from './options.ts'
import { Session } from './session.ts'

/** What the QA workload reports while it runs: its one round and the schedule's accounting so far. */
export interface QaSnapshot {
  /** Seconds since the schedule started. */
  elapsedS: number
  round: RoundResult
  openLoop: OpenLoopSummary
}

/** Callbacks of the QA workload: the common ones, each scheduled send once settled, and periodic snapshots. */
export interface MultiRoundQaHooks extends RunHooks {
  /**
   * A scheduled send is settled: sent and answered (`record`), or dropped (no record). Called once per
   * send, in settling order (the CSV writer puts them back in schedule order).
   */
  onSendSettled?(send: ScheduledSend, record: RequestRecord | undefined): void
  /** Every `logInterval` seconds while the schedule runs. */
  onInterval?(snapshot: QaSnapshot): void
}

/** The multi-round QA workload (the Python multi-round QA tool, 004): users in an open loop at a target aggregate rate. */
export interface MultiRoundQaOptions extends WorkloadSettings {
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
  /** Seconds between periodic snapshots (`hooks.onInterval`). @default 30 */
  logInterval?: number
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

/** The synthetic question of a round (the Python tools' wording). */
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

/** Most sends one schedule may hold: a million is hours at hundreds of QPS. */
const MAX_SCHEDULED_SENDS = 1_000_000

type OwnKeys = Omit<MultiRoundQaOptions, keyof WorkloadSettings>

const KEYS: KeysOf<OwnKeys> = {
  qps: true, numUsers: true, numRounds: true, sharedSystemPrompt: true, userHistoryPrompt: true, answerLen: true, time: true, arrival: true,
  burstiness: true, sharegpt: true, initUserId: true, logInterval: true, clock: true,
}

/**
 * The multi-round QA workload. Sends are scheduled up front at the aggregate rate `qps` (constant gaps by
 * default, or Poisson / gamma, seeded) for `time` seconds, and dealt round robin to `numUsers` user slots:
 * the first `numUsers` sends each bring a new user, a user that has been given its `numRounds` questions
 * leaves and the next send of its slot brings a new user. Every request carries the user's whole
 * conversation: the shared system prompt (exactly `sharedSystemPrompt` tokens), the user's own history
 * (exactly `userHistoryPrompt` tokens), then every earlier question and real answer.
 *
 * A user has one request in flight at a time. When a send's time comes while the same user's previous
 * answer is still streaming, the send waits and goes out as soon as that answer ends: it is counted
 * **late**, and its lag shows in the schedule-lag statistics and in the latency measured from the
 * intended send time. A send still waiting when the schedule ends (`time` seconds) is **dropped**, and
 * counted. Every scheduled send is settled once (`hooks.onSendSettled`), so the reports account for each.
 */
export const MULTI_ROUND_QA: WorkloadDefinition<MultiRoundQaOptions, MultiRoundQaResult> = {
  name: 'multiRoundQa',
  kind: 'multi-round-qa',
  keys: { options: KEYS, hooks: { onSendSettled: true, onInterval: true } satisfies KeysOf<Omit<MultiRoundQaHooks, keyof RunHooks>> },
  async prepare(options) {
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
    const settings: MultiRoundQaOptions = {
      ...options, numUsers: o.numUsers, numRounds: o.numRounds, sharedSystemPrompt: o.sharedSystemPrompt, userHistoryPrompt: o.userHistoryPrompt,
      answerLen, time: o.time, arrival: o.arrival, burstiness: o.arrival === 'gamma' ? o.burstiness : undefined, initUserId: o.initUserId,
      logInterval: o.logInterval, maxOutputTokens: answerLen, clock: undefined,
      sharegpt: Array.isArray(o.sharegpt) ? `${o.sharegpt.length} conversations` : o.sharegpt,
    }
    const plan: QaPlan = {
      ...o, answerLen, dataset, ignoreEos: options.ignoreEos ?? false, clock: options.clock ?? systemClock, hooks: options.hooks ?? {},
      questionsName: dataset ? `ShareGPT (${typeof o.sharegpt === 'string' ? o.sharegpt : `${dataset.length} conversations`})` : 'synthetic',
    }
    return {
      settings,
      // Two connections per user slot: a user's next question, or a replacement user's first, never waits
      // for the end of a body still draining on the connection of the answer before it.
      inFlight: Math.max(1, Math.ceil(o.numUsers / shardOf(options.shard, 'multiRoundQa').count)) * 2,
      execute: (run) => execute(run, plan),
    }
  },
}

/** The QA options, checked and completed. */
interface QaPlan {
  qps: number
  time: number
  logInterval: number
  numUsers: number
  numRounds: number
  sharedSystemPrompt: number
  userHistoryPrompt: number
  initUserId: number
  answerLen: number
  arrival: ArrivalProcess
  burstiness: number
  ignoreEos: boolean
  dataset: Conversation[] | undefined
  questionsName: string
  clock: Clock
  hooks: MultiRoundQaHooks
}

async function execute(run: WorkloadRun, o: QaPlan): Promise<WorkloadOutcome<MultiRoundQaResult>> {
  const { clock, hooks, dataset } = o
  const reset = await run.resetCache()
  const random = createRandom(run.seed)
  const shared = exactTokenText(run.tokenizer, o.sharedSystemPrompt, random.fork())
  const arrivals = random.fork()
  const userStreams = random.fork()
  const datasetOrder = dataset ? random.shuffle(dataset.map((_, i) => i).filter((i) => (dataset[i] as Conversation).userMessages.length > 0)) : []

  const label = `QPS${o.qps.toFixed(2)}`
  // A shard's share of the aggregate rate: the share of user slots it holds.
  const ownSlots = Array.from({ length: o.numUsers }, (_, s) => s).filter((s) => ownedBy(s, run.shard)).length
  const targetRate = (o.qps * ownSlots) / o.numUsers
  const group = run.group({ label, concurrency: 0, round: 1 }, Math.ceil(o.time * targetRate))
  const tally = new OpenLoopTally()
  const byTurn = new GroupedStats<number>()
  const slots: (User | undefined)[] = Array.from({ length: o.numUsers }, () => undefined)
  /** Users replaced in their slot while sends of theirs still waited: those sends are dropped at the end. */
  const departed = new Set<User>()
  const inFlight = new Set<Promise<void>>()
  let scheduled = 0
  let usersCreated = 0
  let ended = false

  // A user's stream is the k-th fork for user k, drawn in id order: a shard, which creates only its users, draws
  // the same stream for a user as the whole run does.
  const streams = new Map<number, Random>()
  let forked = 0
  const streamOf = (k: number): Random => {
    // Every user's stream is drawn; a shard keeps only those of its users (slot = k mod numUsers).
    while (forked <= k) {
      const stream = userStreams.fork()
      if (ownedBy(forked % o.numUsers, run.shard)) streams.set(forked, stream)
      forked++
    }
    const rng = streams.get(k) as Random
    streams.delete(k)
    return rng
  }
  /**
   * The user created by arrival `i` (its slot's user had asked its numRounds): users are made in arrival order, so the
   * id follows from `i` alone, the same in every shard as in the whole run.
   */
  const newUser = (i: number): User => {
    const cycle = Math.floor(i / o.numUsers)
    const id = o.initUserId + o.numUsers * Math.floor(cycle / o.numRounds) + (i % o.numUsers)
    usersCreated++
    const rng: Random = streamOf(id - o.initUserId)
    const history = exactTokenText(run.tokenizer, o.userHistoryPrompt, rng, { leadingSpace: o.sharedSystemPrompt > 0 })
    const system = shared + history
    const questions = dataset ? datasetQuestions(dataset, datasetOrder, id - o.initUserId) : syntheticQuestion
    return { id, session: new Session(`user-${id}`, run.tokenizer, {}, system || undefined), questions, scheduled: 0, busy: false, waiting: [] }
  }

  // The clock's timeline in epoch ms on the clock of the records' startedAt (epochTie), so lags read off them are exact.
  const startAt = clock.now()
  const toEpoch = epochTie(clock)

  let lastSendAt = startAt
  const start = (user: User, send: ScheduledSend): void => {
    user.busy = true
    const now = clock.now()
    lastSendAt = Math.max(lastSendAt, now)
    send.sentAt = toEpoch(now)
    send.lagMs = send.sentAt - send.intendedAt
    tally.sent(send)
    const id = `u${user.id}-q${send.question + 1}`
    send.requestId = id
    const built = user.session.next(user.questions(send.question))
    if (run.debugging) run.debug(() => ({ id, session_id: user.session.id, turn_index: send.question, round: 1, concurrency: 0, messages: built.messages, context_tokens: built.contextTokens, truncated_turns: built.truncatedTurns }))
    const p = group.send(built.messages, { id, index: send.index, sessionId: user.session.id, turnIndex: send.question, round: 1, concurrency: 0, scheduledAt: send.intendedAt })
      .then((record) => {
        // A replacement user's first request can wait for a connection while the old user's last answer
        // still streams: that wait is the send's lag too.
        lagUntilStarted(send, record, clock)
        tally.settled(send, record)
        byTurn.add(send.question + 1, record)
        if (record.ok) user.session.reply(record.outputText)
        hooks.onSendSettled?.(send, record)
        user.busy = false
        const next = user.waiting.shift()
        if (next && !ended) start(user, next)
      })
      .finally(() => inFlight.delete(p))
    inFlight.add(p)
  }
  const drop = (send: ScheduledSend): void => {
    send.dropped = true
    send.late = false
    tally.settled(send, undefined)
    hooks.onSendSettled?.(send, undefined)
  }

  /**
   * The window the achieved rate divides by: the schedule's length (or up to the stop), stretched to
   * the last actual send when sends went out after it (a client too busy to keep time shows as a
   * lower rate, never hidden).
   */
  const rateWindowS = (until: number): number => Math.max(Math.min(o.time * 1000, until - startAt), lastSendAt - startAt) / 1000
  const timer = setInterval(() => {
    const now = clock.now()
    hooks.onInterval?.({ elapsedS: (now - startAt) / 1000, round: group.snapshot(), openLoop: tally.summary(targetRate, rateWindowS(now), scheduled) })
  }, o.logInterval * 1000)
  timer.unref()

  const durationMs = o.time * 1000
  let stoppedAt: number | undefined
  // A shard sends the arrivals of its user slots (slot mod n) out of the one schedule of the whole run; the open loop
  // pulls an offset ahead of the send it fires, so their schedule indices wait in order here.
  const globalIndex: number[] = []
  function* mine(offsets: Iterable<number>): Generator<number> {
    let i = 0
    for (const offset of offsets) {
      if (offset >= durationMs) return
      if (ownedBy(i % o.numUsers, run.shard)) {
        globalIndex.push(i)
        yield offset
      }
      i++
    }
  }
  try {
    await run.phase(label, async () => {
      const loop = await runOpenLoop({
        offsets: mine(arrivalOffsets({ rate: o.qps, process: o.arrival, burstiness: o.burstiness }, arrivals)),
        durationMs,
        clock,
        startAt,
        signal: run.signal,
        onArrival(arrival) {
          const index = globalIndex.shift() as number
          const slot = index % o.numUsers
          let user = slots[slot]
          if (!user || user.scheduled >= o.numRounds) {
            if (user && user.waiting.length > 0) departed.add(user)
            slots[slot] = user = newUser(index)
          }
          const send: ScheduledSend = {
            index, userId: user.id, question: user.scheduled++, intendedAt: toEpoch(arrival.intendedAt),
            sentAt: null, lagMs: null, late: false, dropped: false, requestId: null,
          }
          scheduled++
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
      for (const user of [...slots, ...departed]) for (const send of user?.waiting.splice(0) ?? []) drop(send)
      while (inFlight.size > 0) await Promise.all([...inFlight])
    })
  } finally {
    clearInterval(timer)
  }
  const end = stoppedAt ?? clock.now()
  const round = await group.end(reset)
  return {
    rounds: [round],
    speedups: [],
    section: {
      openLoop: tally.summary(targetRate, rateWindowS(end), scheduled),
      byTurn: turnStats(byTurn),
      schedule: {
        qps: o.qps, arrival: o.arrival, ...(o.arrival === 'gamma' ? { burstiness: o.burstiness } : {}), numUsers: o.numUsers, numRounds: o.numRounds,
        sharedSystemPrompt: o.sharedSystemPrompt, userHistoryPrompt: o.userHistoryPrompt, answerLen: o.answerLen, ignoreEos: o.ignoreEos,
        timeS: o.time, elapsedS: (end - startAt) / 1000, usersCreated, questions: o.questionsName, tokenizer: run.tokenizer.encoding,
      },
    },
  }
}

/**
 * The open-loop accounting, kept as sends settle (in constant memory: no record is kept): sends made,
 * late and dropped, schedule lag, and TTFT and latency measured from the intended send time. The lag of a
 * send runs from its intended time to the moment its request started (lagUntilStarted), so it includes
 * the client's own time: building the prompt, serialising it, waiting for a connection.
 */
export class OpenLoopTally {
  private made = 0
  private late = 0
  private dropped = 0
  private readonly lag = new MetricRecorder()
  private readonly ttft = new MetricRecorder()
  private readonly latency = new MetricRecorder()

  /** A send went out (`late` is final by then). */
  sent(send: ScheduledSend): void {
    this.made++
    if (send.late) this.late++
  }

  /** A send is settled: answered (`record`) or dropped. */
  settled(send: ScheduledSend, record: RequestRecord | undefined): void {
    if (send.dropped) {
      this.dropped++
      return
    }
    if (send.lagMs === null) return
    this.lag.record(send.lagMs)
    if (!record?.ok) return
    this.latency.record(send.lagMs + record.latencyMs)
    if (record.ttftMs !== null) this.ttft.record(send.lagMs + record.ttftMs)
  }

  summary(targetRate: number, windowS: number, scheduled: number): OpenLoopSummary {
    return {
      targetRate,
      achievedRate: windowS > 0 ? this.made / windowS : 0,
      scheduled,
      sent: this.made,
      late: this.late,
      dropped: this.dropped,
      scheduleLag: this.lag.summary(),
      latencyFromScheduled: this.latency.summary(),
      ttftFromScheduled: this.ttft.summary(),
      histograms: { scheduleLag: this.lag.encode(), latencyFromScheduled: this.latency.encode(), ttftFromScheduled: this.ttft.encode() },
    }
  }
}

/** The open-loop accounting of sends already settled (answered, or dropped), e.g. from a saved schedule. */
export function openLoopSummary(targetRate: number, windowS: number, sends: readonly ScheduledSend[], recordOf: ReadonlyMap<string, RequestRecord>): OpenLoopSummary {
  const tally = new OpenLoopTally()
  for (const s of sends) {
    if (s.sentAt !== null && s.lagMs !== null) tally.sent(s)
    tally.settled(s, s.requestId ? recordOf.get(s.requestId) : undefined)
  }
  return tally.summary(targetRate, windowS, sends.length)
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

/**
 * Runs the multiRoundQa workload against `options.endpoint` (no host defaults: see `multiRoundQa()` for the Vitest-aware
 * function) and returns its RunResult.
 */
export function runMultiRoundQa(options: MultiRoundQaOptions, extras?: RunExtras): Promise<MultiRoundQaResult> {
  return runWorkload(MULTI_ROUND_QA, options, extras)
}
