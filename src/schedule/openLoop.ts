import { performance } from 'node:perf_hooks'
import type { Random } from '../random.ts'

/**
 * How arrivals are spaced: `constant` (every 1/rate s), `poisson` (exponential gaps) or `gamma`
 * (gamma-distributed gaps with a burstiness factor, as vLLM's `bench serve`: 1 is Poisson, below 1
 * burstier, above 1 more regular). Every process has mean gap 1/rate.
 */
export type ArrivalProcess = 'constant' | 'poisson' | 'gamma'

export const ARRIVAL_PROCESSES: readonly ArrivalProcess[] = ['constant', 'poisson', 'gamma']

/** Target rate and shape of an open-loop schedule. */
export interface ArrivalOptions {
  /** Arrivals per second (> 0). */
  rate: number
  /** @default 'constant' */
  process?: ArrivalProcess
  /** Gamma shape (`gamma` only): 1 is Poisson, < 1 burstier, > 1 more regular. @default 1 */
  burstiness?: number
}

/**
 * Intended arrival offsets in ms from the schedule's start, in order, without end: the first at 0,
 * then gaps drawn from the process. Random processes draw from `random` only, so a seed repeats them.
 */
export function* arrivalOffsets(options: ArrivalOptions, random: Random): Generator<number, never> {
  const { rate } = options
  if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`rate must be a positive number, got ${rate}`)
  const kind = options.process ?? 'constant'
  const meanGapMs = 1000 / rate
  const burstiness = options.burstiness ?? 1
  if (kind === 'gamma' && !(burstiness > 0 && Number.isFinite(burstiness))) throw new RangeError(`burstiness must be a positive number, got ${burstiness}`)
  if (kind === 'constant') {
    // Computed from k, not accumulated, so float error does not drift over a long run.
    for (let k = 0; ; k++) yield k * meanGapMs
  }
  let at = 0
  for (;;) {
    yield at
    at += kind === 'poisson' ? random.exponential(meanGapMs) : gammaSample(burstiness, meanGapMs / burstiness, random)
  }
}

/** A gamma-distributed sample (shape k, scale θ; mean kθ) by Marsaglia and Tsang, seeded. */
export function gammaSample(shape: number, scale: number, random: Random): number {
  if (shape < 1) {
    // Boost: Gamma(k) = Gamma(k + 1) · U^(1/k).
    const u = 1 - random.next()
    return gammaSample(shape + 1, scale, random) * Math.pow(u, 1 / shape)
  }
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let x: number
    let v: number
    do {
      x = normalSample(random)
      v = 1 + c * x
    } while (v <= 0)
    v = v * v * v
    const u = 1 - random.next()
    if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale
  }
}

/** A standard normal sample (Box–Muller). */
function normalSample(random: Random): number {
  const u1 = 1 - random.next()
  const u2 = random.next()
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}

/** Where a schedule reads the time and waits. Injectable so tests run on a virtual clock. */
export interface Clock {
  /** Monotonic time in ms. */
  now(): number
  /** Resolves at (or after) monotonic time `at`, or at once when `signal` aborts. */
  sleepUntil(at: number, signal?: AbortSignal): Promise<void>
  /**
   * Epoch ms of clock time `at`, on the basis the client stamps a request's `startedAt` with
   * (`performance.timeOrigin` + `performance.now()`), so that `startedAt − scheduledAt` is the true wait.
   * A clock without it (a virtual one) is tied to `Date.now()` once by {@link epochTie}.
   */
  epochAt?(at: number): number
}

/**
 * Maps the clock's timeline to epoch ms for the records' `scheduledAt` and a send's `sentAt`. The system
 * clock maps exactly; `Date.now()` would not do: it is truncated to the ms and drifts from
 * `performance.timeOrigin` as the wall clock is slewed, so a lag read off the records was up to a millisecond
 * or more off.
 */
export function epochTie(clock: Clock): (at: number) => number {
  if (clock.epochAt) return clock.epochAt.bind(clock)
  const startAt = clock.now()
  const epochAtStart = Date.now()
  return (at) => epochAtStart + (at - startAt)
}

/** The real clock: `performance.now()` and timers, each sleep aimed at an absolute time. */
export const systemClock: Clock = {
  now: () => performance.now(),
  epochAt: (at) => performance.timeOrigin + at,
  sleepUntil(at, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve()
      const onAbort = (): void => {
        clearTimeout(timer)
        resolve()
      }
      const wake = (): void => {
        // Timers may fire a little early (they round); sleep the rest rather than send early.
        const left = at - performance.now()
        if (left > 0) {
          timer = setTimeout(wake, left)
          return
        }
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      let timer = setTimeout(wake, Math.max(0, at - performance.now()))
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  },
}

/** One arrival as it happened. */
export interface Arrival {
  /** 0-based position in the schedule. */
  index: number
  /** Intended time, on the clock's timeline (ms). */
  intendedAt: number
  /** When the scheduler actually woke up for it (≥ intendedAt; the difference is timer lag). */
  firedAt: number
}

export interface OpenLoopOptions {
  /** Intended offsets (ms from the start), ascending; e.g. {@link arrivalOffsets}. */
  offsets: Iterable<number>
  /** Arrivals at or after this offset are not scheduled. @default no end */
  durationMs?: number
  /** Stops the schedule: no arrival after the abort. */
  signal?: AbortSignal
  /** @default systemClock */
  clock?: Clock
  /** Start of the schedule on the clock's timeline. @default clock.now() when called */
  startAt?: number
  /** Called at each arrival's intended time. Must not block: start the work and return. */
  onArrival(arrival: Arrival): void
}

/** What an open-loop schedule did. */
export interface OpenLoopRun {
  /** Start of the schedule (clock ms). */
  startAt: number
  /** Arrivals fired (every intended time within the duration, unless stopped). */
  fired: number
  /** Whether `signal` stopped it before the duration ended. */
  stopped: boolean
}

/** Overdue arrivals fired back to back before the loop yields to I/O. */
const OVERDUE_BATCH = 256

/**
 * Open loop: fires `onArrival` at every intended time whatever is still in flight. Each wake-up is
 * aimed at the absolute intended time (start + offset), so timer lateness never accumulates; an
 * arrival whose time has passed (the event loop was busy) fires at once and its lag is visible in
 * `firedAt − intendedAt`.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopRun> {
  const clock = options.clock ?? systemClock
  const startAt = options.startAt ?? clock.now()
  const end = options.durationMs ?? Infinity
  let fired = 0
  let overdue = 0
  for (const offset of options.offsets) {
    if (offset >= end) break
    if (options.signal?.aborted) return { startAt, fired, stopped: true }
    const intendedAt = startAt + offset
    if (clock.now() < intendedAt) {
      overdue = 0
      await clock.sleepUntil(intendedAt, options.signal)
    } else if (++overdue % OVERDUE_BATCH === 0) {
      // A schedule far behind (a rate the client cannot keep) would otherwise fire without end in one
      // turn of the loop, and no timer, abort or Ctrl-C could run.
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    if (options.signal?.aborted) return { startAt, fired, stopped: true }
    options.onArrival({ index: fired, intendedAt, firedAt: clock.now() })
    fired++
  }
  return { startAt, fired, stopped: false }
}

/**
 * One scheduled send of an open-loop workload, whatever became of it: sent on time, sent late (it
 * had to wait, e.g. for the same user's previous answer), or dropped (never sent before the run ended).
 */
export interface ScheduledSend {
  /** 0-based position in the schedule. */
  index: number
  /** Who the send belongs to (e.g. the QA user id). */
  userId: number
  /** 0-based question / round of that user. */
  question: number
  /** Intended send time, epoch ms. */
  intendedAt: number
  /** Actual send time, epoch ms: the request's start once it settled (lagUntilStarted); null when dropped. */
  sentAt: number | null
  /** sentAt − intendedAt in ms (from the monotonic clock); null when dropped. */
  lagMs: number | null
  /** Could not start at its time because it had to wait (counted in `late`). */
  late: boolean
  /** Never sent before the run ended (counted in `dropped`). */
  dropped: boolean
  /** Id of the request, once sent. */
  requestId: string | null
}

/**
 * Runs a send's lag from its intended time to the moment its request started, as open-loop accounting
 * requires (coordinated omission would otherwise hide the client's own time): the record's `startedAt`, after
 * the prompt was built, the body serialised and a free connection found. `startedAt` is on the schedule's
 * timeline only on a clock with `epochAt` (the system clock), and marks the first attempt only when there was
 * one (a 429 retried is the server's wait, not the schedule's); otherwise the record's wait for a connection
 * (`queuedMs`) is added to the timer's lag. Never shortens the lag; `sentAt` moves with it.
 */
export function lagUntilStarted(send: ScheduledSend, record: { startedAt: number; queuedMs?: number; retries?: number }, clock: Clock): void {
  if (send.lagMs === null || send.sentAt === null) return
  const extra = clock.epochAt && !record.retries ? record.startedAt - send.sentAt : (record.queuedMs ?? 0)
  if (!(extra > 0)) return
  send.sentAt += extra
  send.lagMs += extra
}
