/**
 * The JSON values of a source file, one at a time, each with the line it starts on: the elements of a
 * top-level JSON array (streamed, so a ShareGPT dump larger than the biggest string V8 can hold still
 * converts), or the lines of a JSONL file. Only element boundaries are found here; each element is
 * parsed by JSON.parse.
 */

import { createReadStream } from 'node:fs'
import { InputError } from '../../errors.ts'
import { inspectDatasetFile, fileError } from '../file.ts'
import { resolveDatasetPath } from '../shipped.ts'
import { describeJsonError } from '../jsonErrors.ts'
import { readLines } from '../lines.ts'

/** One value of a source file, or why it could not be read. */
export type SourceValue =
  | { ok: true; line: number; index: number; value: unknown }
  | { ok: false; line: number; index: number; message: string; fatal: boolean }

/**
 * The values of a source file that parse, each with its `file:line`. A problem that stops the whole file
 * (binary content, an unclosed array) throws an InputError naming the place; a value that is not valid
 * JSON is handed to `onInvalid` and reading goes on.
 */
export async function* readValidJsonValues(path: string, onInvalid: (where: string) => void): AsyncGenerator<{ value: unknown; index: number; where: string }> {
  for await (const item of readJsonValues(path)) {
    const where = `${path}:${item.line}`
    if (item.ok) yield { value: item.value, index: item.index, where }
    else if (item.fatal) throw new InputError(item.message, where)
    else onInvalid(where)
  }
}

/**
 * Yields every value of a JSON array file (first non-blank character `[`) or a JSONL file.
 * A missing or unreadable file throws InputError naming it.
 */
export async function* readJsonValues(path: string): AsyncGenerator<SourceValue> {
  path = resolveDatasetPath(path)
  const { shape } = await inspectDatasetFile(path)
  if (shape === 'empty') return
  if (shape === 'array') {
    yield* arrayValues(path)
    return
  }
  let index = 0
  for await (const raw of readLines(path)) {
    if (raw.kind === 'binary') {
      yield { ok: false, line: raw.line, index, message: 'binary content (NUL bytes); expected UTF-8 JSON — is the file compressed?', fatal: true }
      return
    }
    if (raw.kind === 'bad_utf8') {
      yield { ok: false, line: raw.line, index: index++, message: 'invalid UTF-8; expected UTF-8 text', fatal: false }
      continue
    }
    if (raw.kind === 'too_long') {
      yield { ok: false, line: raw.line, index: index++, message: `line is ${(raw.bytes / 1048576).toFixed(1)} MB, over the per-line limit`, fatal: false }
      continue
    }
    if (raw.text.trim() === '') continue
    const i = index++
    let value: unknown
    try {
      value = JSON.parse(raw.text)
    } catch (error) {
      if (i === 0 && /^\s*[{[]\s*$/.test(raw.text)) {
        yield { ok: false, line: raw.line, index: i, message: 'this looks like one pretty-printed JSON document; expected a JSON array of rows, or one JSON row per line (JSONL)', fatal: true }
        return
      }
      yield { ok: false, line: raw.line, index: i, message: `invalid JSON (${describeJsonError(error)}); expected one JSON object per line`, fatal: false }
      continue
    }
    yield { ok: true, line: raw.line, index: i, value }
  }
}

/** Streams the elements of a top-level JSON array. */
async function* arrayValues(path: string): AsyncGenerator<SourceValue> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let line = 1
  let index = 0
  let opened = false
  let closed = false
  let depth = 0 // nesting inside the current element
  let inString = false
  let escaped = false
  let pieces: string[] | undefined // the current element's text so far
  let elementLine = 0
  let primitive = false // the element is a number / true / false / null
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 })
  const finish = (text: string): SourceValue => {
    const at = { line: elementLine, index: index++ }
    try {
      return { ok: true, ...at, value: JSON.parse(text) }
    } catch (error) {
      return { ok: false, ...at, message: `array element [${at.index}]: invalid JSON (${describeJsonError(error)})`, fatal: false }
    }
  }
  try {
    let first = true
    for await (const data of stream as AsyncIterable<Buffer>) {
      let chunk: string
      try {
        chunk = decoder.decode(first && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? data.subarray(3) : data, { stream: true })
      } catch {
        yield { ok: false, line, index, message: 'invalid UTF-8; expected UTF-8 text', fatal: true }
        return
      }
      first = false
      let start = pieces ? 0 : -1
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk.charCodeAt(i)
        if (c === 0x0a) line++
        if (c === 0) {
          yield { ok: false, line, index, message: 'binary content (NUL bytes); expected UTF-8 JSON — is the file compressed?', fatal: true }
          return
        }
        if (pieces) {
          if (inString) {
            if (escaped) escaped = false
            else if (c === 0x5c) escaped = true
            else if (c === 0x22) {
              inString = false
              if (depth === 0) {
                pieces.push(chunk.slice(start, i + 1))
                yield finish(pieces.join(''))
                pieces = undefined
              }
            }
            continue
          }
          if (primitive) {
            if (c === 0x2c || c === 0x5d || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
              pieces.push(chunk.slice(start, i))
              yield finish(pieces.join(''))
              pieces = undefined
              primitive = false
              if (c === 0x5d) closed = true
            }
            continue
          }
          if (c === 0x22) inString = true
          else if (c === 0x7b || c === 0x5b) depth++
          else if (c === 0x7d || c === 0x5d) {
            depth--
            if (depth === 0) {
              pieces.push(chunk.slice(start, i + 1))
              yield finish(pieces.join(''))
              pieces = undefined
            }
          }
          continue
        }
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue
        if (!opened) {
          opened = c === 0x5b
          if (!opened) {
            yield { ok: false, line, index, message: 'expected a JSON array', fatal: true }
            return
          }
          continue
        }
        if (closed) {
          yield { ok: false, line, index, message: `unexpected "${chunk[i]}" after the end of the array`, fatal: true }
          return
        }
        if (c === 0x2c) continue
        if (c === 0x5d) {
          closed = true
          continue
        }
        pieces = []
        start = i
        elementLine = line
        depth = 0
        if (c === 0x22) inString = true
        else if (c === 0x7b || c === 0x5b) depth = 1
        else primitive = true
      }
      if (pieces) pieces.push(chunk.slice(Math.max(0, start)))
    }
  } catch (error) {
    throw fileError(error, path)
  } finally {
    stream.destroy()
  }
  if (pieces && primitive) {
    yield finish(pieces.join(''))
    pieces = undefined
  }
  if (!closed) yield { ok: false, line, index, message: pieces ? `array element [${index}] is cut off: the file ends inside it` : 'the array is not closed (no "]"); is the file truncated?', fatal: true }
}
