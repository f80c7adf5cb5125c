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
 * chunks of the others, whose stamps came late (ITL error at 1,000 streams). A request log of a closed
 * loop waits for fewer (backlogFor: no more streams can end together than are in flight). Writes are whole lines
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
  private readonly backlog: number

  /**
   * @param serialize the text written for one value, its terminator included (default: its JSON and a
   *   newline); RoundFileWriter writes pretty-printed entries this way.
   * @param backlog values that may wait before they are written at once (default MAX_PENDING; a closed loop's
   *   request log passes `backlogFor(concurrency)`).
   */
  constructor(path: string, serialize: (value: unknown) => string = jsonLine, backlog = MAX_PENDING) {
    this.path = path
    this.serialize = serialize
    this.backlog = backlog
    this.fd = openSync(path, 'a')
    if (open.size === 0) process.once('exit', flushOpenWriters)
    open.add(this)
  }

  write(value: unknown): void {
    if (this.fd === null) return
    this.pending.push(value)
    if (this.pending.length >= this.backlog) this.flush()
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

  /**
   * Encodes `count` lines into the shared buffer and writes it each time it fills, so every write holds whole
   * lines. A value is taken off the backlog only once its line is on disk: if serialising one throws, the lines
   * after the last write stay queued.
   */
  private writeLines(count: number): void {
    const fd = this.fd
    const n = Math.min(count, this.pending.length)
    if (fd === null || n === 0) return
    const buffer = (encoded ??= Buffer.allocUnsafeSlow(ENCODED_BYTES))
    let used = 0
    let written = 0
    try {
      for (let i = 0; i < n; i++) {
        const line = this.serialize(this.pending[i])
        // A UTF-16 code unit is at most 3 bytes of UTF-8: checked before writing, so a line is never cut.
        if (used + line.length * 3 > buffer.length && used > 0) {
          writeAll(fd, buffer, used)
          used = 0
          written = i
        }
        if (line.length * 3 > buffer.length) {
          writeSync(fd, line)
          written = i + 1
          continue
        }
        used += buffer.write(line, used)
      }
      if (used > 0) writeAll(fd, buffer, used)
      written = n
    } finally {
      this.pending.splice(0, written)
    }
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

/**
 * The bytes lines are encoded into before a write, shared by every writer (a write is synchronous) and made once.
 * Joining a batch into one string cost more than serialising it: 1,024 lines of 0.7 KB made a 0.7 MB string whose
 * flattening took 2.2–2.4 ms (fresh large-object pages), against 0.18 ms to encode them here and write. Why, with the
 * figures: docs/performance.md (2026-12-06, 22:30).
 */
const ENCODED_BYTES = 256 * 1024
let encoded: Buffer | undefined

/** Writes `length` bytes of `buffer` (a regular file takes them in one write; this does not rely on it). */
function writeAll(fd: number, buffer: Buffer, length: number): void {
  let done = 0
  while (done < length) done += writeSync(fd, buffer, done, length - done)
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
