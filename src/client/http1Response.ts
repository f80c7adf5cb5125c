/**
 * An incremental HTTP/1.1 response reader: status line and headers, then the body framed by
 * `Transfer-Encoding: chunked`, `Content-Length` or the end of the connection (RFC 9112 §6.3).
 *
 * Body bytes are handed on as ranges of the caller's buffer, never copied and never wrapped in a new
 * object, so a streamed token costs no allocation here: the per-packet path of a benchmark client
 * must not feed the garbage collector (its pauses land on every chunk that arrives meanwhile).
 */

/** What the reader reports, in order: a head, body ranges, then the end. */
export interface ResponseEvents {
  /** A final (non-1xx) status and its headers; names are lower case, repeated headers become arrays. */
  onHead(status: number, statusText: string, headers: Record<string, string | string[]>): void
  /** Body bytes `buf[start, end)`: valid only during the call (the buffer is reused). */
  onBody(buf: Buffer, start: number, end: number): void
  /** The body is complete; `reusable` says whether the connection may carry another request. */
  onComplete(reusable: boolean): void
}

/** A response the reader cannot make sense of (the connection is unusable afterwards). */
export class ResponseFormatError extends Error {
  override readonly name = 'ResponseFormatError'
}

/** Longest status line plus headers accepted, like Node's own default limit. */
const MAX_HEAD_BYTES = 16 * 1024
const CR = 0x0d
const LF = 0x0a

/** Where the reader is in a response (plain numbers: Node's type stripping has no enums). */
const State = {
  Head: 0,
  ChunkSize: 1,
  ChunkExtension: 2,
  ChunkSizeLf: 3,
  ChunkData: 4,
  ChunkDataCr: 5,
  ChunkDataLf: 6,
  Trailer: 7,
  Length: 8,
  UntilClose: 9,
  Done: 10,
} as const
type State = (typeof State)[keyof typeof State]

export class ResponseReader {
  private readonly events: ResponseEvents
  private state: State = State.Done
  private head = ''
  private noBody = false
  private keepAlive = true
  /** Bytes left in the current chunk or Content-Length body. */
  private left = 0
  private sizeDigits = 0
  /** Characters of the current trailer line (0 at the blank line that ends the trailers). */
  private trailerLine = 0

  constructor(events: ResponseEvents) {
    this.events = events
  }

  /** Expects the response to a new request; `noBody` for HEAD requests. */
  expect(noBody = false): void {
    this.state = State.Head
    this.head = ''
    this.noBody = noBody
  }

  /** True while a response is being read. */
  get busy(): boolean {
    return this.state !== State.Done
  }

  /**
   * Feeds bytes `buf[start, end)` from the socket. Returns where it stopped: `end`, or earlier when the
   * response ended before them (bytes no request asked for). Throws ResponseFormatError on malformed input.
   */
  feed(buf: Buffer, start: number, end: number): number {
    let at = start
    while (at < end) {
      switch (this.state) {
        case State.Head:
          at = this.readHead(buf, at, end)
          break
        case State.ChunkSize: {
          const c = buf[at++] as number
          const digit = hexValue(c)
          if (digit >= 0) {
            if (++this.sizeDigits > 12) throw new ResponseFormatError('chunk size too large')
            this.left = this.left * 16 + digit
          } else if (this.sizeDigits === 0) {
            throw new ResponseFormatError('invalid chunk size')
          } else if (c === CR) this.state = State.ChunkSizeLf
          else if (c === LF) this.endOfSizeLine()
          else if (c === 0x3b || c === 0x20 || c === 0x09) this.state = State.ChunkExtension
          else throw new ResponseFormatError('invalid chunk size')
          break
        }
        case State.ChunkExtension: {
          // Extensions (`;name=value`) are allowed and ignored.
          const lf = buf.indexOf(LF, at)
          if (lf === -1 || lf >= end) return end
          at = lf + 1
          this.endOfSizeLine()
          break
        }
        case State.ChunkSizeLf:
          if (buf[at++] !== LF) throw new ResponseFormatError('invalid chunk size line')
          this.endOfSizeLine()
          break
        case State.ChunkData: {
          const n = Math.min(this.left, end - at)
          this.events.onBody(buf, at, at + n)
          at += n
          this.left -= n
          if (this.left === 0) this.state = State.ChunkDataCr
          break
        }
        case State.ChunkDataCr: {
          const c = buf[at++]
          if (c === CR) this.state = State.ChunkDataLf
          else if (c === LF) this.nextChunk()
          else throw new ResponseFormatError('chunk data longer than its size')
          break
        }
        case State.ChunkDataLf:
          if (buf[at++] !== LF) throw new ResponseFormatError('chunk data longer than its size')
          this.nextChunk()
          break
        case State.Trailer: {
          const c = buf[at++]
          if (c === LF) {
            if (this.trailerLine === 0) this.complete(this.keepAlive)
            this.trailerLine = 0
          } else if (c !== CR) this.trailerLine++
          break
        }
        case State.Length: {
          const n = Math.min(this.left, end - at)
          this.events.onBody(buf, at, at + n)
          at += n
          this.left -= n
          if (this.left === 0) this.complete(this.keepAlive)
          break
        }
        case State.UntilClose:
          this.events.onBody(buf, at, end)
          at = end
          break
        case State.Done:
          return at
      }
    }
    return end
  }

  /**
   * The server closed the connection. Completes a body that ends at close; returns false when a
   * response was cut short (the caller reports the disconnection).
   */
  end(): boolean {
    if (this.state === State.UntilClose) {
      this.complete(false)
      return true
    }
    return this.state === State.Done
  }

  private readHead(buf: Buffer, at: number, end: number): number {
    const before = this.head.length
    this.head += buf.toString('latin1', at, end)
    // The blank line may straddle two reads: search from just before the new bytes.
    const from = Math.max(0, before - 3)
    let blank = this.head.indexOf('\r\n\r\n', from)
    let skip = 4
    const lfOnly = this.head.indexOf('\n\n', from)
    if (lfOnly !== -1 && (blank === -1 || lfOnly < blank)) {
      blank = lfOnly
      skip = 2
    }
    if (blank === -1) {
      if (this.head.length > MAX_HEAD_BYTES) throw new ResponseFormatError(`response head longer than ${MAX_HEAD_BYTES} bytes`)
      return end
    }
    const used = blank + skip - before
    const text = this.head.slice(0, blank)
    this.head = ''
    this.startBody(text)
    return at + used
  }

  private startBody(text: string): void {
    const lines = text.split(/\r?\n/)
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '')
    if (!statusLine) throw new ResponseFormatError(`invalid status line "${(lines[0] ?? '').slice(0, 80)}"`)
    const status = Number(statusLine[2])
    // A null-prototype object lives in V8's dictionary mode: one shape whatever headers a server sends,
    // so the code reading them is not deoptimised (`--trace-deopt`: "wrong map") when the measured
    // server's header set differs from the warm-up's, as it did in every first round.
    const headers = Object.create(null) as Record<string, string | string[]>
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      const colon = line.indexOf(':')
      if (colon <= 0) throw new ResponseFormatError(`invalid header line "${line.slice(0, 80)}"`)
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      const prior = headers[name]
      headers[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value]
    }
    if (status < 200 && status !== 101) {
      // 100 Continue, 103 Early Hints: informational, the real response follows.
      this.state = State.Head
      return
    }
    const connection = String(headers['connection'] ?? '').toLowerCase()
    this.keepAlive = statusLine[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection)
    this.events.onHead(status, statusLine[3] ?? '', headers)
    const transferEncoding = headers['transfer-encoding']
    const contentLength = headers['content-length']
    if (this.noBody || status === 204 || status === 304) {
      this.complete(this.keepAlive)
    } else if (transferEncoding !== undefined) {
      if (/(^|,)\s*chunked\s*$/i.test(String(transferEncoding))) this.nextChunk()
      else {
        this.state = State.UntilClose
      }
    } else if (contentLength !== undefined) {
      const values = String(contentLength).split(',').map((v) => v.trim())
      if (!values.every((v) => /^\d+$/.test(v) && v === values[0])) throw new ResponseFormatError(`invalid content-length "${String(contentLength)}"`)
      this.left = Number(values[0])
      if (this.left === 0) this.complete(this.keepAlive)
      else this.state = State.Length
    } else {
      this.state = State.UntilClose
    }
  }

  private nextChunk(): void {
    this.state = State.ChunkSize
    this.left = 0
    this.sizeDigits = 0
  }

  private endOfSizeLine(): void {
    if (this.left === 0) {
      this.state = State.Trailer
      this.trailerLine = 0
    } else {
      this.state = State.ChunkData
    }
  }

  private complete(reusable: boolean): void {
    this.state = State.Done
    this.events.onComplete(reusable)
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const lower = c | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}
