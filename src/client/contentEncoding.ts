import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib'
import type { Transform } from 'node:stream'

/**
 * Decoding of a compressed response body (`Content-Encoding: gzip`, `deflate`, `br`).
 *
 * fluxperf sends no `Accept-Encoding` (neither does undici's dispatcher, on either transport), so a
 * server should answer uncompressed; some compress anyway (a gzip proxy in front of the engine, a
 * framework's compression middleware). Their streams are decoded rather than read as garbage. Only such
 * a body pays for it: an identity body never reaches this file.
 *
 * Node has no synchronous streaming inflate, so the bytes go through a zlib stream (its work runs on
 * libuv's thread pool). Decoded bytes keep the receive time of the compressed bytes they came from: a
 * write's output is emitted before its callback, so the oldest write not yet called back produced it.
 */

/** A coding fluxperf decodes. */
export type ContentCoding = 'gzip' | 'deflate' | 'br'

/**
 * The coding named by a Content-Encoding header: null for none (absent, empty or `identity`), or
 * `{ unsupported }` with the header's text for anything else (an unknown coding, or several codings).
 */
export function contentCodingOf(header: string | string[] | undefined): ContentCoding | null | { unsupported: string } {
  if (header === undefined) return null
  const text = String(header)
  const codings = text.toLowerCase().split(',').map((c) => c.trim()).filter((c) => c !== '' && c !== 'identity')
  if (codings.length === 0) return null
  if (codings.length === 1) {
    const coding = codings[0]
    if (coding === 'gzip' || coding === 'x-gzip') return 'gzip'
    if (coding === 'deflate' || coding === 'br') return coding
  }
  return { unsupported: text }
}

/** Where decoded bytes go. */
export interface DecodedSink {
  /** Decoded bytes (a new Buffer, the sink's to keep) with the receive time of their compressed bytes. */
  onDecoded(buf: Buffer, receivedAt: number): void
  /** The body is decoded to its end, or could not be (`error`, a message naming the coding). */
  onDecodedEnd(error: string | null): void
}

export class BodyDecoder {
  readonly coding: ContentCoding
  private readonly sink: DecodedSink
  private stream: Transform | null = null
  /** Receive times of the writes not yet called back, oldest first. */
  private readonly times: number[] = []
  private lastTime = 0
  private finished = false

  constructor(coding: ContentCoding, sink: DecodedSink) {
    this.coding = coding
    this.sink = sink
  }

  /** Compressed bytes `buf[start, end)` (copied: the caller may reuse its buffer) that arrived at `receivedAt`. */
  write(buf: Buffer, start: number, end: number, receivedAt: number): void {
    if (this.finished || start === end) return
    this.stream ??= this.open(buf[start] as number)
    this.times.push(receivedAt)
    this.lastTime = receivedAt
    this.stream.write(Buffer.from(buf.subarray(start, end)), () => {
      this.times.shift()
    })
  }

  /** The compressed body has ended: what is still being decoded follows, then onDecodedEnd. */
  end(): void {
    if (this.finished) return
    if (this.stream === null) {
      this.finished = true
      this.sink.onDecodedEnd(null)
      return
    }
    this.stream.end()
  }

  /** Stops decoding (the request settled): nothing more reaches the sink. */
  close(): void {
    this.finished = true
    this.stream?.destroy()
  }

  /**
   * `deflate` is meant as zlib-wrapped (RFC 1950), but some servers send raw deflate: told apart by the
   * first byte, as undici's fetch does.
   */
  private open(first: number): Transform {
    const stream = this.coding === 'gzip' ? createGunzip()
      : this.coding === 'br' ? createBrotliDecompress()
      : (first & 0x0f) === 0x08 ? createInflate()
      : createInflateRaw()
    stream.on('data', (decoded: Buffer) => {
      if (!this.finished) this.sink.onDecoded(decoded, this.times[0] ?? this.lastTime)
    })
    stream.on('end', () => {
      if (this.finished) return
      this.finished = true
      this.sink.onDecodedEnd(null)
    })
    stream.on('error', (error: Error) => {
      if (this.finished) return
      this.finished = true
      this.sink.onDecodedEnd(`cannot decode the ${this.coding}-encoded body: ${error.message}`)
    })
    return stream
  }
}
