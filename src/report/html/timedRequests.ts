import type { ErrorKind, RequestRecord } from '../../types.ts'
import type { TimedRequest } from './build.ts'

/** Requests per block: blocks are added, never copied, as the run goes on. */
const BLOCK = 65_536
/** Four numbers a request: startedAt, latencyMs, ttftMs (NaN: none), scheduledAt (NaN: none). */
const FIELDS = 4

/**
 * The timing fields of every request of a run, for the HTML report's timeline, in typed arrays: 33 bytes a
 * request instead of a ~120-byte object, so a run of 1,000,000 requests holds 33 MB here rather than 120 MB
 * that every major collection of the run must mark. Iterating gives the `TimedRequest`s back; an error keeps
 * only its kind, which is all the timeline reads.
 */
export class TimedRequestLog implements Iterable<TimedRequest> {
  private readonly numbers: Float64Array[] = []
  /** 0: ok; 1: failed, no error; k ≥ 2: failed, error kind `kinds[k - 2]`. */
  private readonly outcomes: Uint8Array[] = []
  private readonly kinds: ErrorKind[] = []
  private count = 0

  /** Requests held. */
  get size(): number {
    return this.count
  }

  add(record: Pick<RequestRecord, 'startedAt' | 'latencyMs' | 'ttftMs' | 'ok' | 'scheduledAt' | 'error'>): void {
    const block = Math.floor(this.count / BLOCK)
    const at = this.count % BLOCK
    if (at === 0) {
      this.numbers.push(new Float64Array(BLOCK * FIELDS))
      this.outcomes.push(new Uint8Array(BLOCK))
    }
    const numbers = this.numbers[block] as Float64Array
    const i = at * FIELDS
    numbers[i] = record.startedAt
    numbers[i + 1] = record.latencyMs
    numbers[i + 2] = record.ttftMs ?? NaN
    numbers[i + 3] = record.scheduledAt ?? NaN
    ;(this.outcomes[block] as Uint8Array)[at] = record.ok ? 0 : record.error ? 2 + this.kindIndex(record.error.kind) : 1
    this.count++
  }

  *[Symbol.iterator](): Iterator<TimedRequest> {
    for (let n = 0; n < this.count; n++) {
      const numbers = this.numbers[Math.floor(n / BLOCK)] as Float64Array
      const outcome = (this.outcomes[Math.floor(n / BLOCK)] as Uint8Array)[n % BLOCK] as number
      const i = (n % BLOCK) * FIELDS
      const ttft = numbers[i + 2] as number
      const scheduled = numbers[i + 3] as number
      const timed: TimedRequest = { startedAt: numbers[i] as number, latencyMs: numbers[i + 1] as number, ttftMs: Number.isNaN(ttft) ? null : ttft, ok: outcome === 0 }
      if (!Number.isNaN(scheduled)) timed.scheduledAt = scheduled
      if (outcome >= 2) timed.error = { kind: this.kinds[outcome - 2] as ErrorKind, message: '' }
      yield timed
    }
  }

  /** The kind's index: ErrorKind has a dozen names, far fewer than a byte holds. */
  private kindIndex(kind: ErrorKind): number {
    const k = this.kinds.indexOf(kind)
    return k === -1 ? this.kinds.push(kind) - 1 : k
  }
}
