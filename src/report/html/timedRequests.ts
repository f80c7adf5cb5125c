import type { ErrorKind, RequestRecord } from '../../types.ts'

/** The fields of a `RequestRecord` the timeline needs (a JSONL line may carry more). */
export type TimedRequest = Pick<RequestRecord, 'startedAt' | 'latencyMs' | 'ttftMs' | 'ok'> & Partial<Pick<RequestRecord, 'scheduledAt' | 'error'>>

/**
 * What `TimedRequestLog.forEach` hands over for one request: NaN marks a missing TTFT or schedule; `failure` is
 * undefined for a success, the error's kind for a failure (`'unknown'` when it carried no error).
 */
export type TimingVisitor = (startedAt: number, latencyMs: number, ttftMs: number, scheduledAt: number, failure: string | undefined) => void

/** Requests per block: blocks are added, never copied, as the run goes on. */
const BLOCK = 65_536

/** One block's columns; `scheduledAt` is made only when a request of the block has a schedule (open loops). */
interface Block {
  startedAt: Float64Array
  latencyMs: Float32Array
  ttftMs: Float32Array
  scheduledAt: Float64Array | null
  /** 0: ok; 1: failed, no error; k ≥ 2: failed, error kind `kinds[k - 2]`. */
  outcome: Uint8Array
}

/**
 * The timing fields of every request of a run, for the HTML report's timeline, in typed arrays: 17 bytes a
 * request (25 on an open loop) instead of a ~120-byte object, so a run of 1,000,000 requests holds 17 MB here
 * rather than 120 MB that every major collection of the run must mark.
 *
 * Start and schedule times keep their float64; latency and TTFT are held as float32, 7 significant digits
 * (under 1 µs off below 8 s): the timeline draws them, the run's statistics never read them from here.
 * Iterating gives `TimedRequest`s back; an error keeps only its kind, which is all the timeline reads.
 */
export class TimedRequestLog implements Iterable<TimedRequest> {
  private readonly blocks: Block[] = []
  private readonly kinds: ErrorKind[] = []
  private count = 0

  /** A log of the given requests (any iterable, read once). */
  static from(requests: Iterable<TimedRequest>): TimedRequestLog {
    const log = new TimedRequestLog()
    for (const r of requests) log.add(r)
    return log
  }

  /** Requests held. */
  get size(): number {
    return this.count
  }

  add(record: TimedRequest): void {
    const at = this.count % BLOCK
    if (at === 0) {
      this.blocks.push({ startedAt: new Float64Array(BLOCK), latencyMs: new Float32Array(BLOCK), ttftMs: new Float32Array(BLOCK), scheduledAt: null, outcome: new Uint8Array(BLOCK) })
    }
    const block = this.blocks[this.blocks.length - 1] as Block
    block.startedAt[at] = record.startedAt
    block.latencyMs[at] = record.latencyMs
    block.ttftMs[at] = record.ttftMs ?? NaN
    if (record.scheduledAt !== undefined) (block.scheduledAt ??= new Float64Array(BLOCK).fill(NaN))[at] = record.scheduledAt
    block.outcome[at] = record.ok ? 0 : record.error ? 2 + this.kindIndex(record.error.kind) : 1
    this.count++
  }

  /** Every request's numbers, in the order added, without making an object for each. */
  forEach(visit: TimingVisitor): void {
    for (let b = 0; b < this.blocks.length; b++) {
      const { startedAt, latencyMs, ttftMs, scheduledAt, outcome } = this.blocks[b] as Block
      const n = Math.min(BLOCK, this.count - b * BLOCK)
      for (let i = 0; i < n; i++) {
        const o = outcome[i] as number
        visit(startedAt[i] as number, latencyMs[i] as number, ttftMs[i] as number, scheduledAt ? (scheduledAt[i] as number) : NaN, o === 0 ? undefined : o === 1 ? 'unknown' : (this.kinds[o - 2] as string))
      }
    }
  }

  *[Symbol.iterator](): Iterator<TimedRequest> {
    for (let b = 0; b < this.blocks.length; b++) {
      const { startedAt, latencyMs, ttftMs, scheduledAt, outcome } = this.blocks[b] as Block
      const n = Math.min(BLOCK, this.count - b * BLOCK)
      for (let i = 0; i < n; i++) {
        const o = outcome[i] as number
        const ttft = ttftMs[i] as number
        const timed: TimedRequest = { startedAt: startedAt[i] as number, latencyMs: latencyMs[i] as number, ttftMs: Number.isNaN(ttft) ? null : ttft, ok: o === 0 }
        const scheduled = scheduledAt ? (scheduledAt[i] as number) : NaN
        if (!Number.isNaN(scheduled)) timed.scheduledAt = scheduled
        if (o >= 2) timed.error = { kind: this.kinds[o - 2] as ErrorKind, message: '' }
        yield timed
      }
    }
  }

  /** The kind's index: ErrorKind has a dozen names, far fewer than a byte holds. */
  private kindIndex(kind: ErrorKind): number {
    const k = this.kinds.indexOf(kind)
    return k === -1 ? this.kinds.push(kind) - 1 : k
  }
}
