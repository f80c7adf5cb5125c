/**
 * Incremental Server-Sent Events parser over raw bytes.
 *
 * Correct whatever the byte boundaries: a line is decoded only once it is complete, and a line
 * terminator byte (LF or CR) never occurs inside a multi-byte UTF-8 sequence, so a character split
 * across network chunks is reassembled before decoding. Handles LF, CRLF and lone CR terminators
 * (including a CRLF split across chunks), comment lines (`: keep-alive`), multi-line `data:` fields,
 * `event:` names, and a missing space after the colon. Only `data` and `event` fields are kept.
 */

/** Called for each dispatched event with the arrival time of the bytes that completed it. */
export type SseEventHandler = (data: string, event: string | undefined, receivedAt: number) => void

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a
const SPACE = 0x20
const decoder = new TextDecoder('utf-8')

export class SseParser {
  private readonly onEvent: SseEventHandler
  /** Bytes of an incomplete line carried over from the previous chunk. */
  private pending: Uint8Array | null = null
  /** The previous chunk ended in CR, so a leading LF belongs to that terminator. */
  private skipLeadingLf = false
  private data: string[] = []
  private eventName: string | undefined = undefined

  constructor(onEvent: SseEventHandler) {
    this.onEvent = onEvent
  }

  /** Feeds the next bytes from the wire. `receivedAt` is their arrival time (ms, any clock). */
  push(chunk: Uint8Array, receivedAt: number): void {
    let start = 0
    const end = chunk.length
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false
      if (end > 0 && chunk[0] === LF) start = 1
    }
    let i = start
    while (i < end) {
      const b = chunk[i] as number
      if (b !== LF && b !== CR) {
        i++
        continue
      }
      let line: Uint8Array
      if (this.pending !== null) {
        line = concat(this.pending, chunk.subarray(start, i))
        this.pending = null
      } else {
        line = chunk.subarray(start, i)
      }
      this.processLine(line, receivedAt)
      if (b === CR) {
        if (i + 1 < end) {
          if (chunk[i + 1] === LF) i++
        } else {
          this.skipLeadingLf = true
        }
      }
      i++
      start = i
    }
    if (start < end) {
      const rest = chunk.subarray(start, end)
      // Copy: the caller may reuse its buffer.
      this.pending = this.pending === null ? rest.slice() : concat(this.pending, rest)
    }
  }

  /**
   * Signals the end of the stream. Per the SSE spec an unterminated last event is discarded, but
   * servers that close right after a final `data:` line without a blank line are common, so a
   * complete buffered `data:` field is still dispatched.
   */
  end(receivedAt: number): void {
    if (this.pending !== null) {
      const line = this.pending
      this.pending = null
      this.processLine(line, receivedAt)
    }
    this.dispatch(receivedAt)
  }

  private processLine(line: Uint8Array, receivedAt: number): void {
    const n = line.length
    if (n === 0) {
      this.dispatch(receivedAt)
      return
    }
    if (line[0] === COLON) return // comment / keep-alive
    const colon = line.indexOf(COLON)
    const fieldEnd = colon === -1 ? n : colon
    let valueStart = colon === -1 ? n : colon + 1
    if (valueStart < n && line[valueStart] === SPACE) valueStart++
    if (isField(line, fieldEnd, DATA)) {
      this.data.push(decoder.decode(line.subarray(valueStart)))
    } else if (isField(line, fieldEnd, EVENT)) {
      this.eventName = decoder.decode(line.subarray(valueStart))
    }
    // id, retry and unknown fields are ignored: an OpenAI stream does not use them.
  }

  private dispatch(receivedAt: number): void {
    if (this.data.length === 0) {
      this.eventName = undefined
      return
    }
    const data = this.data.length === 1 ? (this.data[0] as string) : this.data.join('\n')
    const event = this.eventName
    this.data = []
    this.eventName = undefined
    this.onEvent(data, event, receivedAt)
  }
}

const DATA = [0x64, 0x61, 0x74, 0x61] // "data"
const EVENT = [0x65, 0x76, 0x65, 0x6e, 0x74] // "event"

function isField(line: Uint8Array, fieldEnd: number, name: readonly number[]): boolean {
  if (fieldEnd !== name.length) return false
  for (let k = 0; k < fieldEnd; k++) if (line[k] !== name[k]) return false
  return true
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}
