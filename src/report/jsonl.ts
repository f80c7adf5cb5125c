import { closeSync, openSync, writeSync } from 'node:fs'

/** How long a finished record may wait before it is written. */
const FLUSH_DELAY_MS = 100
/** Records serialised per event-loop turn while a backlog is written: about half a millisecond. */
const LINES_PER_TURN = 64
/**
 * A backlog this long is written at once. Held longer, records finishing at tens of thousands a second
 * outlived young-generation collections and were copied into the old generation: a 1,000,000-request
 * run peaked at 189–202 MB RSS with 4,096, 163–165 MB with 1,024 (clientBench.ts memory). A thousand
 * streams ending together still stay under it.
 */
const MAX_PENDING = 1024

/**
 * Appends one JSON line per value (a finished request, a debug entry).
 *
 * Lines are written within FLUSH_DELAY_MS, a few dozen per event-loop turn (all at once past
 * MAX_PENDING), rather than the moment a request ends: when a thousand streams end together,
 * serialising each record as it ends (7–10 µs with its write) kept the loop from reading the last
 * chunks of the others, whose stamps came late (ITL error at 1,000 streams). Writes are whole lines
 * with `writeSync`, so a killed run leaves only complete lines, and whatever is still buffered is
 * written on close and when the process exits.
 */
export class JsonlWriter {
  readonly path: string
  private fd: number | null
  private readonly pending: unknown[] = []
  private timer: NodeJS.Timeout | null = null
  private nextTurn: NodeJS.Immediate | null = null
  private readonly serialize: (value: unknown) => string

  /**
   * @param serialize the text written for one value, its terminator included (default: its JSON and a
   *   newline); RoundFileWriter writes pretty-printed entries this way.
   */
  constructor(path: string, serialize: (value: unknown) => string = jsonLine) {
    this.path = path
    this.serialize = serialize
    this.fd = openSync(path, 'a')
    if (open.size === 0) process.once('exit', flushOpenWriters)
    open.add(this)
  }

  write(value: unknown): void {
    if (this.fd === null) return
    this.pending.push(value)
    if (this.pending.length >= MAX_PENDING) this.flush()
    else if (this.timer === null && this.nextTurn === null) this.timer = setTimeout(this.writeSome, FLUSH_DELAY_MS).unref()
  }

  /** Writes everything buffered now. */
  flush(): void {
    this.cancelTimer()
    this.writeLines(this.pending.length)
  }

  close(): void {
    this.flush()
    open.delete(this)
    if (open.size === 0) process.removeListener('exit', flushOpenWriters)
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }

  /** One turn's share of the backlog; the rest follows on the next turns. */
  private readonly writeSome = (): void => {
    this.timer = null
    this.nextTurn = null
    // A quarter of a long backlog per turn, so it shrinks even when requests end faster than 64 a turn.
    this.writeLines(Math.max(LINES_PER_TURN, Math.ceil(this.pending.length / 4)))
    if (this.pending.length > 0) this.nextTurn = setImmediate(this.writeSome).unref()
  }

  private writeLines(count: number): void {
    const n = Math.min(count, this.pending.length)
    if (this.fd === null || n === 0) return
    let text = ''
    for (let i = 0; i < n; i++) text += this.serialize(this.pending[i])
    this.pending.splice(0, n)
    writeSync(this.fd, text)
  }

  private cancelTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    if (this.nextTurn !== null) clearImmediate(this.nextTurn)
    this.timer = null
    this.nextTurn = null
  }
}

function jsonLine(value: unknown): string {
  return JSON.stringify(value) + '\n'
}

/** Writers not yet closed: what they buffer is written when the process exits. */
const open = new Set<JsonlWriter>()

function flushOpenWriters(): void {
  for (const writer of open) writer.flush()
}

/** The Python dual-round tool's file name: `requests_round{n}_conc{m}_{timestamp}.jsonl`. */
export function requestLogName(round: number, concurrency: number, at: Date = new Date()): string {
  return `requests_round${round}_conc${concurrency}_${fileStamp(at)}.jsonl`
}

/** A timestamp for file names, `20261204_181500` (UTC). */
export function fileStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '_')
}
