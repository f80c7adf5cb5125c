/**
 * Incremental Server-Sent Events parser over raw bytes.
 *
 * Correct whatever the byte boundaries: a line is decoded only once it is complete, and a line
 * terminator byte (LF or CR) never occurs inside a multi-byte UTF-8 sequence, so a character split
 * across network chunks is reassembled before decoding. Handles LF, CRLF and lone CR terminators
 * (including a CRLF split across chunks), comment lines (`: keep-alive`), multi-line `data:` fields,
 * `event:` names, and a missing space after the colon. Only `data` and `event` fields are kept. A UTF-8
 * byte-order mark at the very start of the stream is skipped, as the WHATWG EventSource parser does
 * (read as part of the first field's name, it would drop the first event).
 *
 * Hot path: lines inside a network chunk are read in place (no copy, no sub-array); with a bytes
 * handler an event's data is offered in place too, so a token need not become a string at all. Bytes
 * are copied only for a line split across chunks.
 *
 * Why: docs/design/timing.md#the-per-chunk-path
 */

import { RequestFailure } from './errors.ts'

/** Called for each dispatched event with the arrival time of the bytes that completed it. */
export type SseEventHandler = (data: string, event: string | undefined, receivedAt: number) => void

/**
 * Offered an event's data as bytes `buf[start, end)`, in place and valid only during the call, when the
 * event is a single `data:` line without an `event:` name (every token of an OpenAI stream). Returns
 * false to have the data decoded and passed to the SseEventHandler instead.
 */
export type SseBytesHandler = (buf: Buffer, start: number, end: number, receivedAt: number) => boolean

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a
const SPACE = 0x20
/** A UTF-8 byte-order mark (U+FEFF). */
const BOM = Buffer.from([0xef, 0xbb, 0xbf])

/**
 * What a parser reports to, as one object: a parser per stream then needs no closures of its own.
 * `onSseBytes`, when present, is the SseBytesHandler.
 */
export interface SseSink {
  onSseEvent(data: string, event: string | undefined, receivedAt: number): void
  onSseBytes?(buf: Buffer, start: number, end: number, receivedAt: number): boolean
}

/** Longest SSE line accepted (an event's JSON chunk is a few hundred bytes). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024

export class SseParser {
  private readonly sink: SseSink
  private readonly inPlace: boolean
  /** Bytes of an incomplete line carried over from the previous chunk. */
  private pending: Buffer | null = null
  /** Bytes of `pending` in use: it grows by doubling, so a long line is not copied again at every read. */
  private pendingLength = 0
  /** The previous chunk ended in CR, so a leading LF belongs to that terminator. */
  private skipLeadingLf = false
  /** Data of the event being built: the first line alone (the common case), then any further lines. */
  private data: string | null = null
  private moreData: string[] | null = null
  private eventName: string | undefined = undefined
  /** The first data line of the event being built, still in the caller's buffer (bytes handler only). */
  private dataBuf: Buffer | null = null
  private dataStart = 0
  private dataEnd = 0
  /** Bytes of a leading byte-order mark matched so far; -1 once past the start of the stream. */
  private bom = 0

  /** Events go to `sink`, or to `onEvent` (and data in place to `onEventBytes`, when given). */
  constructor(sink: SseSink | SseEventHandler, onEventBytes?: SseBytesHandler) {
    this.sink = typeof sink === 'function' ? { onSseEvent: sink, onSseBytes: onEventBytes } : sink
    this.inPlace = this.sink.onSseBytes !== undefined
  }

  /** Feeds the next bytes from the wire. `receivedAt` is their arrival time (ms, any clock). */
  push(chunk: Uint8Array, receivedAt: number): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    this.pushRange(buf, 0, buf.length, receivedAt)
  }

  /** Feeds bytes `buf[from, end)`; the caller may reuse `buf` afterwards. */
  pushRange(buf: Buffer, from: number, end: number, receivedAt: number): void {
    let start = from
    if (this.bom !== -1) start = this.skipBom(buf, start, end)
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false
      if (start < end && buf[start] === LF) start++
    }
    // Terminators are found with Buffer#indexOf (native memchr) rather than a byte loop in JS; a
    // stream with no CR at all (the usual case) pays for one CR search per network chunk.
    // (A search may run past `end` into bytes that are not ours: a hit there counts as none.)
    let nextLf = find(buf, LF, start, end)
    let nextCr = find(buf, CR, start, end)
    for (;;) {
      if (nextLf !== -1 && nextLf < start) nextLf = find(buf, LF, start, end)
      if (nextCr !== -1 && nextCr < start) nextCr = find(buf, CR, start, end)
      let t: number
      if (nextCr === -1) {
        if (nextLf === -1) break
        t = nextLf
      } else t = nextLf !== -1 && nextLf < nextCr ? nextLf : nextCr
      if (this.pendingLength > 0) {
        this.carry(buf, start, t)
        // Handed over whole: an event's data may still point into it (dataBuf) after this line.
        const line = this.pending as Buffer
        const length = this.pendingLength
        this.pending = null
        this.pendingLength = 0
        this.processLine(line, 0, length, receivedAt)
      } else {
        this.processLine(buf, start, t, receivedAt)
      }
      let next = t + 1
      if (t === nextCr) {
        if (next < end) {
          if (buf[next] === LF) next++
        } else {
          this.skipLeadingLf = true
        }
      }
      start = next
      if (start >= end) break
    }
    // Copied: the caller may reuse its buffer.
    if (start < end) this.carry(buf, start, end)
    this.copyData()
  }

  /** Appends `buf[start, end)` to the incomplete line, growing its buffer by doubling, up to MAX_LINE_BYTES. */
  private carry(buf: Uint8Array, start: number, end: number): void {
    const length = this.pendingLength + (end - start)
    // A line without end would otherwise grow for as long as the server sends.
    if (length > MAX_LINE_BYTES) throw new RequestFailure('response_too_large', `a stream line is over ${MAX_LINE_BYTES / (1024 * 1024)} MB without a line break`)
    if (this.pending === null || length > this.pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(256, length, 2 * (this.pending?.length ?? 0)))
      this.pending?.copy(grown, 0, 0, this.pendingLength)
      this.pending = grown
    }
    this.pending.set(buf.subarray(start, end), this.pendingLength)
    this.pendingLength = length
  }

  /**
   * Signals the end of the stream. Per the SSE spec an unterminated last event is discarded, but
   * servers that close right after a final `data:` line without a blank line are common, so a
   * complete buffered `data:` field is still dispatched.
   */
  end(receivedAt: number): void {
    if (this.pendingLength > 0) {
      const line = this.pending as Buffer
      const length = this.pendingLength
      this.pending = null
      this.pendingLength = 0
      this.processLine(line, 0, length, receivedAt)
    }
    this.dispatch(receivedAt)
  }

  /**
   * At the start of the stream: skips a byte-order mark, even one split across chunks. Bytes that began
   * like one but were not are kept as the start of the first line.
   */
  private skipBom(buf: Buffer, from: number, end: number): number {
    let at = from
    while (at < end && this.bom < BOM.length) {
      if (buf[at] !== BOM[this.bom]) {
        if (this.bom > 0) this.carry(BOM, 0, this.bom)
        this.bom = -1
        return at
      }
      this.bom++
      at++
    }
    if (this.bom === BOM.length) this.bom = -1
    return at
  }

  private processLine(buf: Buffer, start: number, end: number, receivedAt: number): void {
    if (start === end) {
      this.dispatch(receivedAt)
      return
    }
    const first = buf[start]
    if (first === COLON) return // comment / keep-alive
    let colon = start
    while (colon < end && buf[colon] !== COLON) colon++
    let valueStart = colon < end ? colon + 1 : end
    if (valueStart < end && buf[valueStart] === SPACE) valueStart++
    const fieldLength = colon - start
    if (fieldLength === 4 && first === 0x64 && buf[start + 1] === 0x61 && buf[start + 2] === 0x74 && buf[start + 3] === 0x61) {
      // "data"
      if (this.inPlace && this.data === null && this.dataBuf === null) {
        this.dataBuf = buf
        this.dataStart = valueStart
        this.dataEnd = end
        return
      }
      this.copyData()
      const value = buf.toString('utf8', valueStart, end)
      if (this.data === null) this.data = value
      else (this.moreData ??= []).push(value)
    } else if (fieldLength === 5 && buf.toString('latin1', start, colon) === 'event') {
      this.eventName = buf.toString('utf8', valueStart, end)
    }
    // id, retry and unknown fields are ignored: an OpenAI stream does not use them.
  }

  /** Decodes a data line still held in place, before its buffer is reused or another line follows. */
  private copyData(): void {
    if (this.dataBuf === null) return
    this.data = this.dataBuf.toString('utf8', this.dataStart, this.dataEnd)
    this.dataBuf = null
  }

  private dispatch(receivedAt: number): void {
    const held = this.dataBuf
    if (held !== null) {
      this.dataBuf = null
      if (this.eventName === undefined && this.sink.onSseBytes?.(held, this.dataStart, this.dataEnd, receivedAt)) return
      this.data = held.toString('utf8', this.dataStart, this.dataEnd)
    }
    const first = this.data
    if (first === null) {
      this.eventName = undefined
      return
    }
    const data = this.moreData === null ? first : [first, ...this.moreData].join('\n')
    const event = this.eventName
    this.data = null
    this.moreData = null
    this.eventName = undefined
    this.sink.onSseEvent(data, event, receivedAt)
  }
}

/** `buf.indexOf(byte, from)` limited to `end`. */
function find(buf: Buffer, byte: number, from: number, end: number): number {
  const at = buf.indexOf(byte, from)
  return at < end ? at : -1
}
