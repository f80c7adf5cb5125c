import { RoundAccumulator } from '../metrics/index.ts'
import type { RoundIdentity } from '../metrics/index.ts'
import type { RequestRecord, RoundResult } from '../types.ts'

/** How long a finished record may wait before it is summarised. */
const DELAY_MS = 100
/** Records summarised per event-loop turn while a backlog is worked off. */
const PER_TURN = 64
/** A backlog this long is summarised at once: memory stays bounded however long the round. */
const MAX_PENDING = 1024
/** The least backlog a closed loop waits for, whatever its concurrency. */
const MIN_PENDING = 128

/**
 * How many finished records may wait (here, and in the CLI's writers) before they are taken at once, for a closed
 * loop of `concurrency` workers (0: an open loop, whose in-flight count has no bound). The wait keeps the work
 * off a burst of streams ending together, and no more of them can end together than are in flight: twice the
 * concurrency, 128 at least and 1,024 at most. A lower bound than 1,024 matters at high request rates: 64
 * workers of one-token requests filled 1,024 in about 30 ms, two young collections, so the records that
 * waited reached the old generation, 665 bytes a request, which grew the heap to its limit again and again
 * (docs/performance.md, "Records that waited into the old generation").
 */
export function backlogFor(concurrency: number): number {
  return concurrency > 0 ? Math.min(MAX_PENDING, Math.max(MIN_PENDING, 2 * concurrency)) : MAX_PENDING
}

/**
 * A round's summary (RoundAccumulator), fed as requests end but not in the same turn: summarising a
 * record (a histogram entry per chunk gap) takes microseconds, and a hundred streams ending together
 * made the streams still running wait for it with their last chunks unread (their stamps came late).
 * Records wait at most DELAY_MS and are then taken a few dozen per turn, as JsonlWriter writes lines;
 * `finish()` takes whatever is left first. Why: docs/design/timing.md.
 */
export class DeferredRound {
  private readonly accumulator: RoundAccumulator
  private pending: RequestRecord[] = []
  private timer: NodeJS.Timeout | null = null
  private nextTurn: NodeJS.Immediate | null = null

  private readonly backlog: number

  /** @param backlog records that may wait before they are summarised at once (default: `backlogFor(id.concurrency)`). */
  constructor(id: RoundIdentity, meetsSlo?: (r: RequestRecord) => boolean, backlog = backlogFor(id.concurrency)) {
    this.accumulator = new RoundAccumulator(id, meetsSlo)
    this.backlog = backlog
  }

  add(record: RequestRecord): void {
    this.pending.push(record)
    if (this.pending.length >= this.backlog) this.take(this.pending.length)
    else if (this.timer === null && this.nextTurn === null) this.timer = setTimeout(this.takeSome, DELAY_MS).unref()
  }

  /** The summary of every record added so far. */
  finish(): RoundResult {
    this.cancel()
    this.take(this.pending.length)
    return this.accumulator.finish()
  }

  private readonly takeSome = (): void => {
    this.timer = null
    this.nextTurn = null
    this.take(Math.max(PER_TURN, Math.ceil(this.pending.length / 4)))
    if (this.pending.length > 0) this.nextTurn = setImmediate(this.takeSome).unref()
  }

  private take(count: number): void {
    const n = Math.min(count, this.pending.length)
    for (let i = 0; i < n; i++) this.accumulator.add(this.pending[i] as RequestRecord)
    this.pending = n === this.pending.length ? [] : this.pending.slice(n)
  }

  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    if (this.nextTurn !== null) clearImmediate(this.nextTurn)
    this.timer = null
    this.nextTurn = null
  }
}
