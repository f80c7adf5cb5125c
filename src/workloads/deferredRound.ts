import { RoundAccumulator } from '../metrics/index.ts'
import type { RoundIdentity } from '../metrics/index.ts'
import type { RequestRecord, RoundResult } from '../types.ts'

/** How long a finished record may wait before it is summarised. */
const DELAY_MS = 100
/** Records summarised per event-loop turn while a backlog is worked off. */
const PER_TURN = 64
/** A backlog this long is summarised at once: memory stays bounded however long the round. */
const MAX_PENDING = 1024

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

  constructor(id: RoundIdentity, meetsSlo?: (r: RequestRecord) => boolean) {
    this.accumulator = new RoundAccumulator(id, meetsSlo)
  }

  add(record: RequestRecord): void {
    this.pending.push(record)
    if (this.pending.length >= MAX_PENDING) this.take(this.pending.length)
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
