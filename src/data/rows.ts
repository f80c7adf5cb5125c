import { readFile } from 'node:fs/promises'
import { TextDecoder } from 'node:util'
import type { Conversation } from '../types.ts'
import { fileError, hasBom, inspectDatasetFile } from './file.ts'
import { resolveDatasetPath } from './shipped.ts'
import { arrayElementOffsets, describeJsonError, jsonErrorLine, lineAt, linesAt } from './jsonErrors.ts'
import { MAX_LINE_BYTES, readLines } from './lines.ts'
import { parseRow } from './rowFormats.ts'

/** The largest JSON array file the loader reads (arrays are parsed whole; JSONL is streamed): 256 MB. */
export const MAX_ARRAY_FILE_BYTES = 256 * 1024 * 1024

/**
 * One problem in a dataset. `line` is 1-based; 0 means the file as a whole (missing rows, too big).
 * `message` has no location prefix; `where` is `file:line` (or just `file` for line 0).
 */
export interface DatasetProblem {
  line: number
  message: string
  where: string
}

/** What reading a dataset yields, in file order. A `fatal` problem is the last event. */
export type RowEvent =
  | { kind: 'row'; line: number; conversation: Conversation }
  | { kind: 'problem'; problem: DatasetProblem; fatal: boolean }

const EMPTY = 'empty file (no rows); expected one JSON object per line (JSONL) or a JSON array of objects'

/**
 * Reads every row of a dataset file, JSONL (streamed line by line; blank lines skipped) or a JSON array
 * (a file whose first non-blank character is `[`). Problems with single rows are yielded and reading goes
 * on; problems that make the rest unreadable (NUL bytes, a JSON array that is not valid JSON) are yielded as fatal
 * and end the stream. `fluxperf:<name>` reads a shipped dataset ({@link resolveDatasetPath}). A missing file, a directory or an unreadable file throws InputError.
 */
export async function* readRows(path: string): AsyncGenerator<RowEvent> {
  path = resolveDatasetPath(path)
  const { shape, size } = await inspectDatasetFile(path)
  if (shape === 'empty') {
    yield problem(path, 0, EMPTY, true)
    return
  }
  const events = shape === 'array' ? arrayRows(path, size) : jsonlRows(path)
  let seen = 0
  for await (const event of events) {
    seen++
    yield event
    if (event.kind === 'problem' && event.fatal) return
  }
  if (seen === 0) yield problem(path, 0, EMPTY, true)
}

async function* jsonlRows(path: string): AsyncGenerator<RowEvent> {
  for await (const raw of readLines(path)) {
    const { line } = raw
    if (raw.kind === 'binary') {
      yield problem(path, line, `binary content (${raw.reason}); expected UTF-8 text, one JSON object per line — is the file compressed or not a dataset?`, true)
      return
    }
    if (raw.kind === 'bad_utf8') {
      yield problem(path, line, 'invalid UTF-8 (binary data, or text in another encoding such as Latin-1); expected UTF-8 text', false)
      continue
    }
    if (raw.kind === 'too_long') {
      const mb = (raw.bytes / (1024 * 1024)).toFixed(1)
      yield problem(path, line, `line is ${mb} MB, over the ${MAX_LINE_BYTES / (1024 * 1024)} MB limit per line; expected one JSON object per line (split the row, or shorten its text)`, false)
      continue
    }
    if (raw.text.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(raw.text)
    } catch (error) {
      yield problem(path, line, `invalid JSON (${describeJsonError(error)}); expected one JSON object per line`, false)
      continue
    }
    const result = parseRow(value, { fallbackId: `row-${line}`, source: `${path}:${line}` })
    if (result.ok) yield { kind: 'row', line, conversation: result.conversation }
    else yield problem(path, line, result.message, false)
  }
}

async function* arrayRows(path: string, size: number): AsyncGenerator<RowEvent> {
  if (size > MAX_ARRAY_FILE_BYTES) {
    const mb = Math.round(size / (1024 * 1024))
    yield problem(path, 0, `JSON array file is ${mb} MB, over the ${MAX_ARRAY_FILE_BYTES / (1024 * 1024)} MB limit for arrays; convert it to JSONL (one object per line), which is streamed`, true)
    return
  }
  let buffer: Buffer
  try {
    buffer = await readFile(path)
  } catch (error) {
    throw fileError(error, path)
  }
  if (hasBom(buffer)) buffer = buffer.subarray(3)
  const nul = buffer.indexOf(0)
  if (nul !== -1) {
    yield problem(path, lineAt(buffer.subarray(0, nul).toString('latin1'), nul), 'binary content (NUL bytes); expected UTF-8 text (a JSON array of objects) — is the file compressed or not a dataset?', true)
    return
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buffer)
  } catch {
    const lenient = buffer.toString('utf8')
    yield problem(path, lineAt(lenient, Math.max(0, lenient.indexOf('\uFFFD'))), 'binary content (invalid UTF-8); expected UTF-8 text (a JSON array of objects)', true)
    return
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    yield problem(path, jsonErrorLine(error, text), `invalid JSON (${describeJsonError(error)}); expected the file to be one JSON array of row objects`, true)
    return
  }
  if (!Array.isArray(value)) {
    yield problem(path, 1, 'expected a JSON array of row objects', true)
    return
  }
  if (value.length === 0) {
    yield problem(path, 1, 'empty JSON array (no rows); expected at least one row object', true)
    return
  }
  const lines = linesAt(text, arrayElementOffsets(text))
  for (const [i, element] of value.entries()) {
    const line = lines[i] ?? 1
    const result = parseRow(element, { fallbackId: `item-${i}`, source: `${path}:${line}` })
    if (result.ok) yield { kind: 'row', line, conversation: result.conversation }
    else yield problem(path, line, `array element [${i}]: ${result.message}`, false)
  }
}

function problem(path: string, line: number, message: string, fatal: boolean): RowEvent {
  return { kind: 'problem', fatal, problem: { line, message, where: line > 0 ? `${path}:${line}` : path } }
}
