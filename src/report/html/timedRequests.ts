import type { ErrorKind, RequestRecord } from '../../types.ts'

/** The fields of a `RequestRecord` the timeline needs (a JSONL line may carry more). */
export type TimedRequest = Pick<RequestRecord, 'startedAt' | 'latencyMs' | 'ttftMs' | 'ok'> & Partial<Pick<RequestRecord, 'scheduledAt' | 'error'>>

/**
 * What `TimedRequestLog.forEach` hands over for one request: NaN marks a missing TTFT or schedule; `failure` is
 * undefined for a success, the error's kind for a failure (`'unknown'` when it carried no error).
 */
export type TimingVisitor = (startedAt: number, latencyMs: number, ttftMs: number, scheduledAt: number, failure: string | undefined) => void

/**
 * Requests per block at most: blocks are added, never copied, as the run goes on. A block is allocated on the loop
 * while streams are read, zeroed and faulted in: 65,536 requests (1.1 MB) took 3.7 ms on this repository's VM, and
 * every chunk that arrived meanwhile was stamped that late; 8,192 (140 KB) take 0.4–0.7 ms.
 */
const BLOCK = 8_192
/**
 * Requests in the first block; each later one is twice the one before, up to BLOCK. The first record arrives when a
 * round's first request ends, as the other streams' last chunks arrive (docs/performance.md, 2026-12-06, night).
 */
const FIRST_BLOCK = 1_024

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
  /** Requests in the last block. */
  private used = 0

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
    let block = this.blocks[this.blocks.length - 1]
    if (block === undefined || this.used === block.outcome.length) {
      const size = Math.min(BLOCK, FIRST_BLOCK * 2 ** this.blocks.length)
      block = { startedAt: new Float64Array(size), latencyMs: new Float32Array(size), ttftMs: new Float32Array(size), scheduledAt: null, outcome: new Uint8Array(size) }
      this.blocks.push(block)
      this.used = 0
    }
    const at = this.used++
    block.startedAt[at] = record.startedAt
    block.latencyMs[at] = record.latencyMs
    block.ttftMs[at] = record.ttftMs ?? NaN
    if (record.scheduledAt !== undefined) (block.scheduledAt ??= new Float64Array(block.outcome.length).fill(NaN))[at] = record.scheduledAt
    block.outcome[at] = record.ok ? 0 : record.error ? 2 + this.kindIndex(record.error.kind) : 1
    this.count++
  }

  /** Every request's numbers, in the order added, without making an object for each. */
  forEach(visit: TimingVisitor): void {
    for (let b = 0; b < this.blocks.length; b++) {
      const { startedAt, latencyMs, ttftMs, scheduledAt, outcome } = this.blocks[b] as Block
      const n = b === this.blocks.length - 1 ? this.used : outcome.length
      for (let i = 0; i < n; i++) {
        const o = outcome[i] as number
        visit(startedAt[i] as number, latencyMs[i] as number, ttftMs[i] as number, scheduledAt ? (scheduledAt[i] as number) : NaN, o === 0 ? undefined : o === 1 ? 'unknown' : (this.kinds[o - 2] as string))
      }
    }
  }

  *[Symbol.iterator](): Iterator<TimedRequest> {
    for (let b = 0; b < this.blocks.length; b++) {
      const { startedAt, latencyMs, ttftMs, scheduledAt, outcome } = this.blocks[b] as Block
      const n = b === this.blocks.length - 1 ? this.used : outcome.length
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
