import { createReadStream } from 'node:fs'
import { TextDecoder } from 'node:util'
import { fileError, hasBom } from './file.ts'

/** The longest JSONL line the loader accepts: 10 MB (10 × 1024 × 1024 bytes). */
export const MAX_LINE_BYTES = 10 * 1024 * 1024

/** One physical line of a JSONL file, 1-based, already decoded — or why it could not be. */
export type RawLine =
  | { line: number; kind: 'text'; text: string }
  | { line: number; kind: 'too_long'; bytes: number }
  | { line: number; kind: 'binary'; reason: 'NUL bytes' }
  | { line: number; kind: 'bad_utf8' }

/**
 * Streams a file line by line (split on `\n`, a trailing `\r` dropped, a leading UTF-8 BOM skipped)
 * without ever holding more than one line — and never more than `maxLineBytes` of it — in memory.
 * A line longer than `maxLineBytes` is reported as `too_long` and skipped; a line holding NUL bytes
 * is reported as `binary`, one that is not valid UTF-8 as `bad_utf8`.
 * @param maxLineBytes default {@link MAX_LINE_BYTES}
 */
export async function* readLines(path: string, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<RawLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let parts: Buffer[] = []
  let kept = 0
  let bytes = 0
  let tooLong = false
  let line = 1
  let first = true

  const append = (segment: Buffer): void => {
    bytes += segment.length
    if (tooLong) return
    if (kept + segment.length > maxLineBytes) {
      tooLong = true
      parts = []
      kept = 0
      return
    }
    if (segment.length > 0) parts.push(segment)
    kept += segment.length
  }
  const finish = (): RawLine => {
    const result = tooLong ? { line, kind: 'too_long' as const, bytes } : decodeLine(Buffer.concat(parts, kept), line, decoder)
    parts = []
    kept = 0
    bytes = 0
    tooLong = false
    line++
    return result
  }

  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 })
  try {
    for await (const data of stream as AsyncIterable<Buffer>) {
      let chunk = data
      if (first) {
        first = false
        if (hasBom(chunk)) chunk = chunk.subarray(3)
      }
      let start = 0
      for (;;) {
        const newline = chunk.indexOf(0x0a, start)
        if (newline === -1) {
          append(chunk.subarray(start))
          break
        }
        append(chunk.subarray(start, newline))
        yield finish()
        start = newline + 1
      }
    }
  } catch (error) {
    throw fileError(error, path)
  } finally {
    stream.destroy()
  }
  if (bytes > 0 || tooLong) yield finish()
}

function decodeLine(buffer: Buffer, line: number, decoder: TextDecoder): RawLine {
  const end = buffer.length > 0 && buffer[buffer.length - 1] === 0x0d ? buffer.length - 1 : buffer.length
  const body = buffer.subarray(0, end)
  if (body.includes(0)) return { line, kind: 'binary', reason: 'NUL bytes' }
  try {
    return { line, kind: 'text', text: decoder.decode(body) }
  } catch {
    return { line, kind: 'bad_utf8' }
  }
}
