/**
 * The scheduler and latency model of the mock: a bounded batch of sequences decoded in steps.
 *
 * - At most `maxNumSeqs` sequences run; the rest wait in FIFO order.
 * - On admission a sequence looks up its prompt in the prefix cache; its uncached tokens are prefilled
 *   on one shared timeline (prefills run one after another at `prefillTokensPerS`), so load raises TTFT.
 *   first token at = max(admitted, prefill busy until) + uncached / prefill rate + base latency.
 * - One step loop serves every sequence: each step emits the next token(s) of every running sequence
 *   whose first token is due, then sleeps itl = itlMs + itlPerSeqMs × (batch − 1). One timer for the
 *   whole engine, not one per stream, keeps 500+ concurrent streams cheap. Steps are scheduled
 *   against absolute target times, so timer lateness does not accumulate.
 * - Prefill and decode share one GPU, prefill first (`prefillStallsDecode`): a decode step needs itl ms
 *   of time in which no prefill runs, so a step is delayed by every prefill that overlaps it.
 *
 * The engine knows nothing of HTTP or chunk formats: it calls `listener.onTokens` and nothing else.
 * The model, its calibration and why: docs/design/mock.md#latency-model
 */

import { type Random, createRandom } from '../random.ts'
import { PrefixCache, ROOT_KEY, blockKeys } from './prefixCache.ts'

/** How long one timer callback may keep running steps that are already due. */
const STEP_TURN_BUDGET_MS = 2

export interface EngineOptions {
  prefillTokensPerS: number
  baseLatencyMs: number
  itlMs: number
  itlPerSeqMs: number
  maxNumSeqs: number
  jitter: number
  seed: number
  timeScale: number
  prefixCache: boolean
  blockSize: number
  cacheCapacityTokens: number
  /** Decode steps wait while a prefill runs (one GPU, prefill first). */
  prefillStallsDecode: boolean
}

/** A stretch of time in which prefills run back to back (ms, `performance.now()` clock). */
interface PrefillRun {
  start: number
  end: number
}

/** Receives a sequence's output. */
export interface SequenceListener {
  /** `count` more tokens were generated (`seq.generated` includes them); on the last call `seq.done` is true. */
  onTokens(seq: Sequence, count: number): void
  /** Token ids of the generated text, cached after the prompt when the sequence finishes. */
  outputTokenIds?(seq: Sequence): number[]
}

export interface SequenceInit {
  promptTokens: readonly number[]
  maxTokens: number
  /** Tokens per step after the first. */
  tokensPerChunk: number
  listener: SequenceListener
}

export type SequenceState = 'waiting' | 'prefilling' | 'decoding' | 'finished' | 'cancelled'

export class Sequence {
  readonly promptLength: number
  readonly maxTokens: number
  readonly tokensPerChunk: number
  readonly listener: SequenceListener
  state: SequenceState = 'waiting'
  generated = 0
  /** Prompt tokens served from the prefix cache (known once admitted). */
  cachedTokens = 0
  readonly arrivedAt: number
  admittedAt = -1
  /** When the first token is due (known once admitted). */
  firstTokenAt = -1
  /** Decoding pauses until this time (a mid-stream stall fault). */
  pausedUntil = 0
  /** Prompt block keys (only with the cache on) and the tokens after the last full block. */
  keys: number[] = []
  tail: number[] = []

  constructor(init: SequenceInit, now: number) {
    this.promptLength = init.promptTokens.length
    this.maxTokens = init.maxTokens
    this.tokensPerChunk = init.tokensPerChunk
    this.listener = init.listener
    this.arrivedAt = now
  }

  get done(): boolean {
    return this.generated >= this.maxTokens
  }
}

/** Counters since the engine started (never reset; emptying the cache leaves them alone). */
export interface EngineStats {
  /** Sequences submitted. */
  submitted: number
  /** Sequences that generated all their tokens. */
  completed: number
  /** Sequences cancelled (client gone, connection dropped, server closed). */
  cancelled: number
  /** Prompt tokens of admitted sequences. */
  promptTokens: number
  /** Prompt tokens looked up in the prefix cache (0 with the cache off). */
  cacheQueryTokens: number
  /** Prompt tokens served from the prefix cache. */
  cachedTokens: number
  /** Tokens generated. */
  generationTokens: number
  /** Decode steps run. */
  steps: number
  /** Sequences admitted (prefilling or decoding). */
  running: number
  /** Sequences queued behind `maxNumSeqs`. */
  waiting: number
  /** Blocks in the prefix cache. */
  cacheBlocks: number
  /** Share of the cache capacity in use, 0..1. */
  cacheUsage: number
}

export class Engine {
  readonly options: EngineOptions
  readonly cache: PrefixCache
  readonly #random: Random
  // FIFO of waiting sequences: an array with a moving head, compacted now and then.
  #waiting: Sequence[] = []
  #waitingHead = 0
  #prefilling: Sequence[] = []
  #decoding: Sequence[] = []
  #running = 0
  #prefillBusyUntil = 0
  /**
   * With `prefillStallsDecode`: the prefill runs that end after the current decode step's start, in time
   * order and disjoint (back-to-back prefills merge into one run).
   */
  #prefillRuns: PrefillRun[] = []
  /** The current decode step: where it starts and how much prefill-free time (its ITL) it needs. */
  #stepFrom = 0
  #stepItl = 0
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined
  #timerIsImmediate = false
  /** Target time of the armed timer. */
  #timerAt = Infinity
  /** Target time of the next decode step while sequences are decoding: `#stepEnd(#stepFrom, #stepItl)`. */
  #nextStepAt = 0
  #closed = false
  #inStep = false
  readonly #stats = {
    submitted: 0,
    completed: 0,
    cancelled: 0,
    promptTokens: 0,
    cacheQueryTokens: 0,
    cachedTokens: 0,
    generationTokens: 0,
    steps: 0,
  }

  constructor(options: EngineOptions) {
    this.options = options
    this.cache = new PrefixCache({
      blockSize: options.blockSize,
      capacityTokens: options.cacheCapacityTokens,
      enabled: options.prefixCache,
    })
    this.#random = createRandom(options.seed ^ 0x2545f491)
  }

  /** Queues a sequence; it is admitted at once if a seat is free. */
  submit(init: SequenceInit): Sequence {
    const now = performance.now()
    const seq = new Sequence(init, now)
    if (this.#closed) {
      seq.state = 'cancelled'
      return seq
    }
    if (this.cache.enabled) {
      seq.keys = blockKeys(init.promptTokens, this.cache.blockSize)
      seq.tail = init.promptTokens.slice(seq.keys.length * this.cache.blockSize)
    }
    this.#stats.submitted++
    this.#waiting.push(seq)
    this.#admit(now)
    this.#schedule(now)
    return seq
  }

  /** Stops a sequence (client gone); frees its seat for the next waiting one. */
  cancel(seq: Sequence): void {
    if (seq.state === 'finished' || seq.state === 'cancelled') return
    const wasRunning = seq.state !== 'waiting'
    if (!wasRunning) {
      const i = this.#waiting.indexOf(seq, this.#waitingHead)
      if (i >= 0) this.#waiting.splice(i, 1)
    }
    seq.state = 'cancelled'
    this.#stats.cancelled++
    if (wasRunning) {
      this.#running--
      // Removed from the prefilling/decoding lists lazily, by the next step.
      const now = performance.now()
      this.#admit(now)
      this.#schedule(now)
    }
  }

  /** Empties the prefix cache. */
  resetCache(): void {
    this.cache.reset()
  }

  stats(): EngineStats {
    return {
      ...this.#stats,
      running: this.#running,
      waiting: this.#waiting.length - this.#waitingHead,
      cacheBlocks: this.cache.size,
      cacheUsage: this.cache.usage,
    }
  }

  /** Cancels everything and stops the step timer. */
  close(): void {
    this.#closed = true
    this.#clearTimer()
    for (const list of [this.#waiting.slice(this.#waitingHead), this.#prefilling, this.#decoding]) {
      for (const seq of list) {
        if (seq.state !== 'finished' && seq.state !== 'cancelled') {
          seq.state = 'cancelled'
          this.#stats.cancelled++
        }
      }
    }
    this.#waiting = []
    this.#waitingHead = 0
    this.#prefilling = []
    this.#decoding = []
    this.#prefillRuns = []
    this.#running = 0
  }

  #scaled(ms: number): number {
    const jitter = this.options.jitter
    return ms * this.options.timeScale * (jitter === 0 ? 1 : 1 + jitter * (2 * this.#random.next() - 1))
  }

  #itl(batch: number): number {
    return this.#scaled(this.options.itlMs + this.options.itlPerSeqMs * Math.max(0, batch - 1))
  }

  #admit(now: number): void {
    const { maxNumSeqs, blockSize, prefillTokensPerS } = this.options
    let stalls = false
    while (this.#running < maxNumSeqs && this.#waitingHead < this.#waiting.length) {
      const seq = this.#waiting[this.#waitingHead++]!
      this.#running++
      seq.state = 'prefilling'
      seq.admittedAt = now
      let cached = 0
      if (this.cache.enabled) {
        // At least one prompt token is always computed (it yields the first output token), so a
        // prompt that is all cached blocks still misses its last block, as in vLLM.
        const matchable = Math.floor((seq.promptLength - 1) / blockSize)
        const hits = this.cache.match(seq.keys.length > matchable ? seq.keys.slice(0, matchable) : seq.keys)
        cached = hits * blockSize
        this.cache.insert(seq.keys)
        this.#stats.cacheQueryTokens += seq.promptLength
        this.#stats.cachedTokens += cached
      }
      seq.cachedTokens = cached
      this.#stats.promptTokens += seq.promptLength
      const prefillMs = this.#scaled(((seq.promptLength - cached) / prefillTokensPerS) * 1000)
      const prefillStart = Math.max(now, this.#prefillBusyUntil)
      const prefillEnd = prefillStart + prefillMs
      this.#prefillBusyUntil = prefillEnd
      if (this.options.prefillStallsDecode && prefillMs > 0) {
        const last = this.#prefillRuns.at(-1)
        if (last !== undefined && prefillStart <= last.end) last.end = prefillEnd
        else this.#prefillRuns.push({ start: prefillStart, end: prefillEnd })
        stalls = true
      }
      seq.firstTokenAt = prefillEnd + this.#scaled(this.options.baseLatencyMs)
      this.#prefilling.push(seq)
    }
    if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitingHead)
      this.#waitingHead = 0
    }
    // A new prefill pushes back the pending decode step (the step loop computes its own when it ends).
    if (stalls && !this.#inStep && this.#decoding.length > 0) this.#nextStepAt = this.#stepEnd(this.#stepFrom, this.#stepItl)
  }

  /**
   * When a decode step that starts at `from` and needs `itl` ms of GPU time ends: the first moment by
   * which `itl` ms without a prefill have passed since `from` (prefill first: a step overlapping a
   * prefill run waits for its end). O(prefill runs after `from`), which are few: runs merge when
   * prefills queue back to back, and runs before the current step are dropped.
   */
  #stepEnd(from: number, itl: number): number {
    let t = from
    let left = itl
    for (const run of this.#prefillRuns) {
      if (run.end <= t) continue
      if (run.start > t) {
        if (left <= run.start - t) return t + left
        left -= run.start - t
      }
      t = run.end
    }
    return t + left
  }

  /** Arms the timer for the next thing due: a decode step, or else the earliest first token. */
  #schedule(now: number): void {
    if (this.#closed || this.#inStep) return
    let target: number
    if (this.#decoding.length > 0) target = this.#nextStepAt
    else if (this.#prefilling.length > 0) {
      target = Infinity
      for (const seq of this.#prefilling) {
        if (seq.state === 'prefilling' && seq.firstTokenAt < target) target = seq.firstTokenAt
      }
      if (target === Infinity) {
        // Only cancelled sequences left: let a step sweep them up.
        target = now
      }
    } else return
    if (this.#timer !== undefined) {
      if (this.#timerAt <= target) return
      this.#clearTimer()
    }
    this.#timerAt = target
    const delay = target - now
    if (delay < 1) {
      // Due (or within the timers' 1 ms granularity): run after pending I/O.
      this.#timerIsImmediate = true
      this.#timer = setImmediate(this.#step)
    } else {
      this.#timerIsImmediate = false
      this.#timer = setTimeout(this.#step, Math.round(delay))
    }
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return
    if (this.#timerIsImmediate) clearImmediate(this.#timer as NodeJS.Immediate)
    else clearTimeout(this.#timer as NodeJS.Timeout)
    this.#timer = undefined
    this.#timerAt = Infinity
  }

  /**
   * The timer callback: runs the step that is due, then any further steps already due (a zero or
   * overrun ITL) back to back, up to a small time budget. Writes of one event-loop turn leave in one
   * syscall per socket, so this is what lets a fast-mode mock emit 100k+ chunks/s; with real ITLs
   * the next step is in the future and each step gets its own turn.
   */
  readonly #step = (): void => {
    let stepAt = this.#timerAt
    this.#timer = undefined
    this.#timerAt = Infinity
    if (this.#closed) return
    let now = performance.now()
    if (this.#decoding.length > 0 && this.#nextStepAt > stepAt) {
      // A prefill admitted since the timer was armed pushed the step back: wait for it.
      this.#schedule(now)
      return
    }
    const turnEnds = now + STEP_TURN_BUDGET_MS
    // Listeners may cancel sequences mid-step; the step itself schedules what comes next.
    this.#inStep = true
    try {
      for (;;) {
        this.#runStep(stepAt, now)
        if (this.#closed || this.#decoding.length === 0) break
        const next = this.#nextStepAt
        now = performance.now()
        if (next > now || now >= turnEnds) break
        stepAt = next
      }
    } finally {
      this.#inStep = false
      this.#schedule(now)
    }
  }

  /** One decode step for the whole batch, due at `stepAt`. */
  #runStep(stepAt: number, now: number): void {
    this.#stats.steps++
    // Sequences whose prefill is done join the batch (their first token comes out of this step).
    const decoding = this.#decoding
    const joinedFrom = decoding.length
    if (this.#prefilling.length > 0) {
      const still: Sequence[] = []
      for (const seq of this.#prefilling) {
        if (seq.state !== 'prefilling') continue
        if (seq.firstTokenAt <= now + 0.5) {
          seq.state = 'decoding'
          decoding.push(seq)
        } else still.push(seq)
      }
      this.#prefilling = still
    }

    let kept = 0
    let generated = 0
    let finished = 0
    for (let i = 0; i < decoding.length; i++) {
      const seq = decoding[i]!
      if (seq.state !== 'decoding') continue
      if (seq.pausedUntil > now) {
        decoding[kept++] = seq
        continue
      }
      const count = i >= joinedFrom ? 1 : Math.min(seq.tokensPerChunk, seq.maxTokens - seq.generated)
      seq.generated += count
      generated += count
      if (seq.generated >= seq.maxTokens) {
        seq.state = 'finished'
        finished++
        this.#finish(seq)
      } else decoding[kept++] = seq
      try {
        seq.listener.onTokens(seq, count)
      } catch {
        // A broken listener (a write to a dead socket) loses its sequence, not the batch.
        this.cancel(seq)
      }
    }
    decoding.length = kept
    this.#stats.generationTokens += generated
    if (finished > 0) {
      this.#stats.completed += finished
      this.#running -= finished
      this.#admit(now)
    }

    // Next step: one ITL after this step's target time, not after `now`, so timer lateness does not
    // accumulate. But a step is never closer than half an ITL to the one before (a real engine cannot
    // compute a step faster), so a late timer does not emit two tokens back to back, and a step late by
    // more than that re-anchors the schedule instead of bursting to catch up. Prefill runs in between
    // push it back by their overlap (`#stepEnd`).
    const itl = this.#itl(Math.max(1, kept))
    this.#stepFrom = Math.max(stepAt, now - itl / 2)
    this.#stepItl = itl
    const runs = this.#prefillRuns
    if (runs.length > 0) {
      let old = 0
      while (old < runs.length && runs[old]!.end <= this.#stepFrom) old++
      if (old > 0) runs.splice(0, old)
    }
    this.#nextStepAt = this.#stepEnd(this.#stepFrom, itl)
  }

  #finish(seq: Sequence): void {
    if (!this.cache.enabled || !seq.listener.outputTokenIds) return
    // Cache the generated tokens after the prompt, so a follow-up turn that sends the reply back
    // hits the cache through it, as on a real engine.
    const tokens = seq.tail.concat(seq.listener.outputTokenIds(seq))
    const parent = seq.keys.length > 0 ? seq.keys[seq.keys.length - 1]! : ROOT_KEY
    const more = blockKeys(tokens, this.cache.blockSize, parent)
    this.cache.insert(more.length > 0 ? seq.keys.concat(more) : seq.keys)
  }
}
