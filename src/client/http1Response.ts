import { maxHeaderSize } from 'node:http'

/**
 * An incremental HTTP/1.1 response reader: status line and headers, then the body framed by
 * `Transfer-Encoding: chunked`, `Content-Length` or the end of the connection (RFC 9112 §6.3).
 *
 * Body bytes are handed on as ranges of the caller's buffer, never copied and never wrapped in a new
 * object, so a streamed token costs no allocation here: the per-packet path of a benchmark client
 * must not feed the garbage collector (its pauses land on every chunk that arrives meanwhile).
 *
 * It accepts and refuses what undici (llhttp in its default, strict mode) does, so that a server passes
 * or fails the same over http:// (this reader) and https:// (undici); test/conformance/framing.test.ts
 * checks it case by case against undici. Refused: a line ending in a bare LF or holding a bare CR,
 * obsolete line folding, a header name that is not a token or a space before its colon, control
 * characters in a header value, a head whose header names and values reach undici's `maxHeaderSize`
 * (Node's `--max-http-header-size`, 16 KiB by default) however many reads it came in, a duplicate or
 * non-numeric Content-Length, Content-Length with Transfer-Encoding, an unsolicited 100 Continue or 101
 * Switching Protocols, and chunk-size lines with anything but hex digits, `;extensions` and CR LF.
 * Other 1xx responses (102, 103 Early Hints) are skipped. Empty lines before a status line are skipped.
 *
 * Why its own reader, and the parity rules: docs/design/http-client.md#framing-parity-with-undici
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

/** The headers of no response: what the reader holds between heads (never written: a status line makes new ones). */
const NO_HEADERS: Record<string, string | string[]> = Object.freeze(Object.create(null) as Record<string, string | string[]>)

/** A response the reader cannot make sense of (the connection is unusable afterwards). */
export class ResponseFormatError extends Error {
  override readonly name = 'ResponseFormatError'
}

/**
 * Header bytes accepted in one head (and in one trailer section), counted as undici counts them: the
 * names and values, not the status line, colons or line ends; a head that reaches it is refused. It is
 * undici's default `maxHeaderSize`: Node's `--max-http-header-size` (16 KiB unless set).
 */
export const MAX_HEADER_BYTES = maxHeaderSize
/**
 * Longest status line. undici sets no limit (it keeps only the last read's part of the reason phrase);
 * this reader keeps the line whole, so it is bounded. No server sends more than a few dozen bytes.
 */
const MAX_STATUS_LINE = 64 * 1024
const HTAB = 0x09
const LF = 0x0a
const CR = 0x0d
const SPACE = 0x20
const QUOTE = 0x22
const COLON = 0x3a
const SEMICOLON = 0x3b
const EQUALS = 0x3d
const BACKSLASH = 0x5c

/** RFC 9110 `tchar`: what a header name or a chunk extension name or value may hold. */
const TOKEN = new Uint8Array(256)
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1
/** What a quoted chunk extension value may hold unescaped (`qdtext`). */
const QDTEXT = new Uint8Array(256)
for (let c = 0x20; c <= 0xff; c++) QDTEXT[c] = c === QUOTE || c === BACKSLASH || c === 0x7f ? 0 : 1
QDTEXT[HTAB] = 1
/** A header value's characters, as llhttp accepts them: HTAB, visible ASCII, space, obs-text (not DEL). */
const FIELD_VCHAR = new Uint8Array(256)
for (let c = 0x20; c <= 0xff; c++) FIELD_VCHAR[c] = c === 0x7f ? 0 : 1
FIELD_VCHAR[HTAB] = 1
const STATUS_LINE = /^HTTP\/(\d)\.(\d) (\d{3})(?: ([^\r]*))?$/
const OK_STATUS_LINE = 'HTTP/1.1 200 OK'
/** The HTTP versions llhttp accepts in a status line. */
const VERSIONS = new Set(['0.9', '1.0', '1.1', '2.0'])

/** Where the reader is in a response (plain numbers: Node's type stripping has no enums). */
const State = {
  Head: 0,
  ChunkSize: 1,
  ChunkSizeLf: 2,
  /** Just after a `;` of a chunk extension. */
  ChunkExtStart: 3,
  ChunkExtName: 4,
  ChunkExtValue: 5,
  ChunkExtQuoted: 6,
  ChunkExtQuotedPair: 7,
  ChunkExtQuotedDone: 8,
  ChunkData: 9,
  ChunkDataCr: 10,
  ChunkDataLf: 11,
  Trailer: 12,
  Length: 13,
  UntilClose: 14,
  Done: 15,
} as const
type State = (typeof State)[keyof typeof State]

export class ResponseReader {
  private readonly events: ResponseEvents
  private state: State = State.Done
  /** The head (or trailer section) read so far, as latin1 text; lines before `lineStart` are done. */
  private head = ''
  private lineStart = 0
  /** The status line of the head being read has been parsed. */
  private statusSeen = false
  private status = 0
  private statusText = ''
  /** HTTP/1.1: persistent unless `Connection: close`; any other version only with `keep-alive`. */
  private persistentByDefault = true
  private headers: Record<string, string | string[]> = NO_HEADERS
  /** Header names and values so far in this head or trailer section (see MAX_HEADER_BYTES). */
  private headerBytes = 0
  /** Content-Length of the head being read; -1 when it has none. */
  private contentLength = -1
  private hasTransferEncoding = false
  private noBody = false
  private keepAlive = true
  /** Bytes left in the current chunk or Content-Length body. */
  private left = 0
  private sizeDigits = 0

  constructor(events: ResponseEvents) {
    this.events = events
  }

  /** Expects the response to a new request; `noBody` for HEAD requests. */
  expect(noBody = false): void {
    this.state = State.Head
    this.startLines()
    this.statusSeen = false
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
          at = this.readLines(buf, at, end)
          break
        case State.ChunkSize: {
          const c = buf[at++] as number
          const digit = hexValue(c)
          if (digit >= 0) {
            this.sizeDigits++
            this.left = this.left * 16 + digit
            if (this.left > Number.MAX_SAFE_INTEGER) throw new ResponseFormatError('chunk size too large')
          } else if (this.sizeDigits === 0) {
            throw new ResponseFormatError('invalid chunk size')
          } else if (c === CR) this.state = State.ChunkSizeLf
          else if (c === SEMICOLON) this.state = State.ChunkExtStart
          else if (c === LF) throw new ResponseFormatError('chunk size line ends in a bare LF (no CR)')
          else throw new ResponseFormatError('invalid chunk size')
          break
        }
        case State.ChunkSizeLf:
          if (buf[at++] !== LF) throw new ResponseFormatError('invalid chunk size line: CR without LF')
          this.endOfSizeLine()
          break
        case State.ChunkExtStart:
        case State.ChunkExtName:
        case State.ChunkExtValue:
        case State.ChunkExtQuoted:
        case State.ChunkExtQuotedPair:
        case State.ChunkExtQuotedDone:
          this.extensionByte(buf[at++] as number)
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
          else if (c === LF) throw new ResponseFormatError('chunk data ends in a bare LF (no CR)')
          else throw new ResponseFormatError('chunk data longer than its size')
          break
        }
        case State.ChunkDataLf:
          if (buf[at++] !== LF) throw new ResponseFormatError('chunk data longer than its size')
          this.nextChunk()
          break
        case State.Trailer:
          // The usual end of a chunked body, no trailers: the blank line alone, read in place.
          if (this.head.length === 0 && at + 1 < end && buf[at] === CR && buf[at + 1] === LF) {
            at += 2
            this.complete(this.keepAlive)
          } else {
            at = this.readLines(buf, at, end)
          }
          break
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

  private startLines(): void {
    this.head = ''
    this.lineStart = 0
    this.headerBytes = 0
  }

  /**
   * Reads the lines of a head (or of a chunked body's trailer section) up to its blank line, from
   * `buf[at, end)` and what earlier reads left. Returns where the bytes after the blank line begin, or
   * `end` when it has not come yet. (A head is read once per response: these strings are not per chunk.)
   */
  private readLines(buf: Buffer, at: number, end: number): number {
    const before = this.head.length
    const text = (this.head += buf.toString('latin1', at, end))
    const inHead = this.state === State.Head
    let lineStart = this.lineStart
    for (;;) {
      if (inHead && !this.statusSeen) {
        // Empty lines before a status line are skipped, as llhttp does.
        while (lineStart < text.length && (text.charCodeAt(lineStart) === CR || text.charCodeAt(lineStart) === LF)) lineStart++
      }
      const lf = text.indexOf('\n', Math.max(lineStart, before))
      if (lf === -1) break
      if (lf === lineStart || text.charCodeAt(lf - 1) !== CR) {
        throw new ResponseFormatError(`a ${inHead ? (this.statusSeen ? 'header' : 'status') : 'trailer'} line ends in a bare LF (no CR)`)
      }
      const lineEnd = lf - 1
      if (inHead && !this.statusSeen) {
        this.statusLine(text.slice(lineStart, lineEnd))
      } else if (lineEnd === lineStart) {
        // The blank line: the head (or the trailers) ends here.
        const next = at + (lf + 1 - before)
        this.startLines()
        if (inHead) this.endOfHead()
        else this.complete(this.keepAlive)
        return next
      } else {
        this.headerLine(text, lineStart, lineEnd, inHead)
      }
      lineStart = lf + 1
    }
    this.lineStart = lineStart
    // The open line is bounded now, not only once it ends.
    if (inHead && !this.statusSeen) {
      if (text.length - lineStart > MAX_STATUS_LINE) throw new ResponseFormatError(`status line longer than ${MAX_STATUS_LINE} bytes`)
    } else if (this.headerBytes + text.length - lineStart >= MAX_HEADER_BYTES && this.headerBytes + openLineBytes(text, lineStart) >= MAX_HEADER_BYTES) {
      throw headerOverflow()
    }
    return end
  }

  private statusLine(line: string): void {
    if (line === OK_STATUS_LINE) {
      // What nearly every response's status line is, and what the expression below reads it as.
      this.status = 200
      this.statusText = 'OK'
      this.persistentByDefault = true
    } else {
      const match = STATUS_LINE.exec(line)
      if (!match) throw new ResponseFormatError(`invalid status line "${line.slice(0, 80)}"`)
      const version = `${match[1]}.${match[2]}`
      if (!VERSIONS.has(version)) throw new ResponseFormatError(`invalid HTTP version in status line "${line.slice(0, 80)}"`)
      const status = Number(match[3])
      if (status < 100) throw new ResponseFormatError(`invalid status code in status line "${line.slice(0, 80)}"`)
      this.status = status
      this.statusText = match[4] ?? ''
      this.persistentByDefault = version === '1.1'
    }
    this.statusSeen = true
    // A null-prototype object lives in V8's dictionary mode: one shape whatever headers a server sends,
    // so the code reading them is not deoptimised (`--trace-deopt`: "wrong map") when the measured
    // server's header set differs from the warm-up's, as it did in every first round.
    this.headers = Object.create(null) as Record<string, string | string[]>
    this.contentLength = -1
    this.hasTransferEncoding = false
  }

  /** One header (or trailer) line `text[start, end)`, without its CR LF. */
  private headerLine(text: string, start: number, end: number, inHead: boolean): void {
    const first = text.charCodeAt(start)
    if (first === SPACE || first === HTAB) throw new ResponseFormatError(`obsolete line folding (a line starting with whitespace): "${text.slice(start, end).slice(0, 80)}"`)
    let colon = start
    let upperCase = false
    for (let c = text.charCodeAt(colon); colon < end && TOKEN[c] === 1; c = text.charCodeAt(++colon)) {
      if (c <= 0x5a && c >= 0x41) upperCase = true
    }
    if (colon === start || colon === end || text.charCodeAt(colon) !== COLON) {
      throw new ResponseFormatError(`invalid header line "${text.slice(start, end).slice(0, 80)}"`)
    }
    let valueStart = colon + 1
    while (valueStart < end && (text.charCodeAt(valueStart) === SPACE || text.charCodeAt(valueStart) === HTAB)) valueStart++
    // Most servers write their names in lower case already: only the others are converted.
    const name = upperCase ? text.slice(start, colon).toLowerCase() : text.slice(start, colon)
    for (let i = valueStart; i < end; i++) {
      if (FIELD_VCHAR[text.charCodeAt(i)] !== 1) throw new ResponseFormatError(`invalid character in the value of header "${name}"`)
    }
    this.countHeaderBytes(colon - start + end - valueStart)
    // Trailing whitespace is kept, as undici (llhttp) keeps it (test/conformance/framing.test.ts).
    const value = text.slice(valueStart, end)
    if (name === 'content-length') {
      // Digits only: undici refuses a list ("5, 5"), a sign, and trailing whitespace too.
      if (!inHead) throw new ResponseFormatError('Content-Length in the trailers of a chunked body')
      if (this.contentLength !== -1) throw new ResponseFormatError('duplicate Content-Length')
      if (!/^\d+$/.test(value) || Number(value) > Number.MAX_SAFE_INTEGER) throw new ResponseFormatError(`invalid content-length "${value.slice(0, 40)}"`)
      this.contentLength = Number(value)
    } else if (name === 'transfer-encoding' && inHead) {
      this.hasTransferEncoding = true
    }
    if (!inHead) return
    const prior = this.headers[name]
    this.headers[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value]
  }

  private countHeaderBytes(n: number): void {
    this.headerBytes += n
    if (this.headerBytes >= MAX_HEADER_BYTES) throw headerOverflow()
  }

  private endOfHead(): void {
    const status = this.status
    this.statusSeen = false
    if (this.hasTransferEncoding && this.contentLength !== -1) throw new ResponseFormatError('both Transfer-Encoding and Content-Length (a request-smuggling shape undici refuses)')
    // undici refuses both: it never sends `Expect: 100-continue` nor asks for an upgrade.
    if (status === 100) throw new ResponseFormatError('unexpected 100 Continue (the request did not ask for one)')
    if (status === 101) throw new ResponseFormatError('unexpected 101 Switching Protocols (the request asked for no upgrade)')
    // 102 Processing, 103 Early Hints: informational, the real response follows.
    if (status < 200) return
    const headers = this.headers
    const connection = String(headers['connection'] ?? '')
    this.keepAlive = this.persistentByDefault ? !/(?:^|,)[\t ]*close[\t ]*(?:,|$)/i.test(connection) : /(?:^|,)[\t ]*keep-alive[\t ]*(?:,|$)/i.test(connection)
    this.events.onHead(status, this.statusText, headers)
    const transferEncoding = headers['transfer-encoding']
    // Let go of the head: its header values are slices of its text, which would otherwise live as long as the
    // body. Made as the first token arrives, after a round's burst was promoted, about 1 KB a stream was copied
    // and then promoted by the young collections while 1,000 streams streamed: 5 ms pauses, each an ITL error
    // (docs/performance.md, "A response's head, let go").
    this.headers = NO_HEADERS
    this.statusText = ''
    if (this.noBody || status === 204 || status === 304) {
      // A 204 or 304 that announces a body may have sent one: its connection is not reused (as undici).
      this.complete(this.keepAlive && (this.noBody || (!this.hasTransferEncoding && this.contentLength <= 0)))
    } else if (transferEncoding !== undefined) {
      if (/(^|,)\s*chunked\s*$/i.test(String(transferEncoding))) this.nextChunk()
      else this.state = State.UntilClose
    } else if (this.contentLength !== -1) {
      this.left = this.contentLength
      if (this.left === 0) this.complete(this.keepAlive)
      else this.state = State.Length
    } else {
      this.state = State.UntilClose
    }
  }

  /** A byte of a chunk extension (`;name`, `;name=token`, `;name="quoted"`), checked as llhttp does. */
  private extensionByte(c: number): void {
    switch (this.state) {
      case State.ChunkExtStart:
        if (c === CR || c === SPACE) throw new ResponseFormatError('invalid character in chunk extension')
        this.extensionNameByte(c)
        return
      case State.ChunkExtName:
        this.extensionNameByte(c)
        return
      case State.ChunkExtValue:
        if (c === QUOTE) this.state = State.ChunkExtQuoted
        else if (c === SEMICOLON) this.state = State.ChunkExtStart
        else if (c === CR) this.state = State.ChunkSizeLf
        else if (TOKEN[c] !== 1) throw extensionError(c)
        return
      case State.ChunkExtQuoted:
        if (c === QUOTE) this.state = State.ChunkExtQuotedDone
        else if (c === BACKSLASH) this.state = State.ChunkExtQuotedPair
        else if (QDTEXT[c] !== 1) throw extensionError(c)
        return
      case State.ChunkExtQuotedPair:
        if (c !== HTAB && (c < SPACE || c === 0x7f)) throw extensionError(c)
        this.state = State.ChunkExtQuoted
        return
      case State.ChunkExtQuotedDone:
        if (c === SEMICOLON) this.state = State.ChunkExtStart
        else if (c === CR) this.state = State.ChunkSizeLf
        else throw extensionError(c)
        return
    }
  }

  private extensionNameByte(c: number): void {
    if (TOKEN[c] === 1) this.state = State.ChunkExtName
    else if (c === EQUALS) this.state = State.ChunkExtValue
    else if (c === SEMICOLON) this.state = State.ChunkExtStart
    else if (c === CR) this.state = State.ChunkSizeLf
    else throw extensionError(c)
  }

  private nextChunk(): void {
    this.state = State.ChunkSize
    this.left = 0
    this.sizeDigits = 0
  }

  private endOfSizeLine(): void {
    if (this.left === 0) {
      this.state = State.Trailer
      this.startLines()
    } else {
      this.state = State.ChunkData
    }
  }

  private complete(reusable: boolean): void {
    this.state = State.Done
    this.events.onComplete(reusable)
  }
}

function headerOverflow(): ResponseFormatError {
  return new ResponseFormatError(`response head longer than the ${MAX_HEADER_BYTES}-byte header limit (header names and values, as undici counts them; Node's --max-http-header-size)`)
}

function extensionError(c: number): ResponseFormatError {
  return new ResponseFormatError(c === LF ? 'chunk extension ends in a bare LF (no CR)' : 'invalid character in chunk extension')
}

/** The header bytes (name, and value after its leading whitespace) of a line not yet ended. */
function openLineBytes(text: string, lineStart: number): number {
  let end = text.length
  // A CR at the very end is the line's terminator, not part of it.
  if (end > lineStart && text.charCodeAt(end - 1) === CR) end--
  const colon = text.indexOf(':', lineStart)
  if (colon === -1 || colon >= end) return end - lineStart
  let valueStart = colon + 1
  while (valueStart < end && (text.charCodeAt(valueStart) === SPACE || text.charCodeAt(valueStart) === HTAB)) valueStart++
  return colon - lineStart + end - valueStart
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  const lower = c | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}
