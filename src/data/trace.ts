import { InputError } from '../errors.ts'
import type { ChatMessage } from '../types.ts'
import { inspectDatasetFile } from './file.ts'
import { describeJsonError } from './jsonErrors.ts'
import { MAX_LINE_BYTES, readLines } from './lines.ts'
import { resolveDatasetPath } from './shipped.ts'

/**
 * One request of a timestamped trace (Mooncake's and AIPerf's JSONL format), to be sent at `timestampMs`.
 * Design note: docs/design/traces.md.
 */
export interface TraceEntry {
  /** 0-based position in {@link Trace.entries}, i.e. in replay (timestamp) order. */
  index: number
  /** 1-based line of the trace file the request is on. */
  line: number
  /** When to send it, in milliseconds since the start of the trace (≥ 0, fractions allowed). */
  timestampMs: number
  /** Prompt tokens to synthesise (whole, ≥ 1); required unless `messages` is given. */
  inputLength?: number
  /** The prompt itself, sent verbatim (then `inputLength` is only informative). */
  messages?: ChatMessage[]
  /** Tokens to generate: the request's `max_tokens` (whole, ≥ 1). */
  outputLength: number
  /** The row's `session_id`, as a string. */
  sessionId?: string
  /**
   * Ids of the prompt's blocks of `blockSize` tokens, in order: block i is `hashIds[i]`. As in Mooncake the
   * ids are chained hashes, so two requests with the same `hashIds[0..k]` share that prefix. Never empty.
   */
  hashIds?: number[]
}

/** A loaded trace: its requests sorted by timestamp (ties in file order). */
export interface Trace {
  /** The trace as named by the caller: a path, or `fluxperf:<name>` for a shipped one. */
  source: string
  /** Sorted by `timestampMs`, stably; never empty. */
  entries: TraceEntry[]
  /** Timestamp of the first request: a trace cut from a longer one may start late (replays may subtract it). */
  startMs: number
  /** Timestamp of the last request: how long a replay at the recorded times takes to send everything. */
  durationMs: number
}

/** A row of the format, for messages. */
const EXAMPLE_ROW = '{"timestamp": 0, "input_length": 512, "output_length": 64}'
const EMPTY = `empty trace (no requests); expected one JSON object per line, e.g. ${EXAMPLE_ROW}`
const ROLES = ['system', 'user', 'assistant'] as const

/**
 * Reads a trace file: JSONL, one request per line (blank lines skipped), streamed line by line with the
 * dataset loader's limits (10 MB a line, UTF-8). `fluxperf:<name>` reads a shipped trace
 * ({@link resolveDatasetPath}), e.g. `fluxperf:trace-example`.
 *
 * @throws InputError at the first problem, its message starting with `file:line:` and saying what was
 *   expected; a missing, empty or unreadable file is an InputError naming the file.
 */
export async function loadTrace(path: string): Promise<Trace> {
  const file = resolveDatasetPath(path)
  const { shape } = await inspectDatasetFile(file)
  if (shape === 'empty') throw new InputError(EMPTY, file)
  if (shape === 'array') throw new InputError(`is a JSON array; a trace is JSONL, one request object per line, e.g. ${EXAMPLE_ROW}`, file)
  const reader = new TraceReader(file)
  for await (const raw of readLines(file)) {
    if (raw.kind === 'binary') throw new InputError(`binary content (${raw.reason}); expected UTF-8 text, one JSON object per line — is the file compressed or not a trace?`, `${file}:${raw.line}`)
    if (raw.kind === 'bad_utf8') throw new InputError('invalid UTF-8 (binary data, or text in another encoding such as Latin-1); expected UTF-8 text', `${file}:${raw.line}`)
    if (raw.kind === 'too_long') throw tooLong(file, raw.line, raw.bytes)
    reader.add(raw.text, raw.line)
  }
  return reader.finish(path)
}

/**
 * Parses the text of a trace file (see {@link loadTrace}); `source` names it in errors (`source:line: ...`)
 * and becomes {@link Trace.source}.
 * @throws InputError at the first problem
 */
export function parseTrace(text: string, source: string): Trace {
  const reader = new TraceReader(source)
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0
  for (let line = 1; at <= text.length; line++) {
    const end = text.indexOf('\n', at)
    const stop = end === -1 ? text.length : end
    let row = text.slice(at, stop)
    if (row.endsWith('\r')) row = row.slice(0, -1)
    if (row.length > MAX_LINE_BYTES / 3) {
      const bytes = Buffer.byteLength(row)
      if (bytes > MAX_LINE_BYTES) throw tooLong(source, line, bytes)
    }
    reader.add(row, line)
    if (end === -1) break
    at = end + 1
  }
  return reader.finish(source)
}

/** Collects the entries of one trace, line by line. */
class TraceReader {
  private readonly rows: TraceEntry[] = []
  private readonly where: string
  constructor(where: string) {
    this.where = where
  }

  add(text: string, line: number): void {
    if (text.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (error) {
      throw new InputError(`invalid JSON (${describeJsonError(error)}); expected one JSON object per line`, `${this.where}:${line}`)
    }
    const entry = parseTraceRow(value, line)
    if (typeof entry === 'string') throw new InputError(entry, `${this.where}:${line}`)
    this.rows.push(entry)
  }

  finish(source: string): Trace {
    if (this.rows.length === 0) throw new InputError(EMPTY, this.where)
    // Array.prototype.sort is stable: requests with the same timestamp keep their file order.
    const entries = this.rows.sort((a, b) => a.timestampMs - b.timestampMs)
    entries.forEach((entry, i) => (entry.index = i))
    const first = entries[0] as TraceEntry
    const last = entries[entries.length - 1] as TraceEntry
    return { source, entries, startMs: first.timestampMs, durationMs: last.timestampMs }
  }
}

function tooLong(where: string, line: number, bytes: number): InputError {
  const mb = (bytes / (1024 * 1024)).toFixed(1)
  return new InputError(`line is ${mb} MB, over the ${MAX_LINE_BYTES / (1024 * 1024)} MB limit per line; expected one request object per line`, `${where}:${line}`)
}

/**
 * One parsed JSON row as a trace entry (its `index` still 0), or what is wrong with it. Fields:
 * `timestamp`, `input_length` / `inputLength`, `messages`, `output_length` / `outputLength`,
 * `session_id` / `sessionId`, `hash_ids` / `hashIds`; others are ignored.
 */
export function parseTraceRow(value: unknown, line: number): TraceEntry | string {
  if (!isObject(value)) return `expected a JSON object such as ${EXAMPLE_ROW}, got ${shown(value)}`
  const entry: TraceEntry = { index: 0, line, timestampMs: 0, outputLength: 0 }

  const timestamp = field(value, 'timestamp')
  if (timestamp.value === undefined) return '"timestamp" is missing; expected the time to send the request, in milliseconds since the trace start (a number ≥ 0)'
  if (typeof timestamp.value !== 'number' || !Number.isFinite(timestamp.value) || timestamp.value < 0) {
    return `"timestamp" must be a number ≥ 0 (milliseconds since the trace start), got ${shown(timestamp.value)}`
  }
  entry.timestampMs = timestamp.value

  const messages = field(value, 'messages')
  if (messages.value !== undefined) {
    const parsed = chatMessages(messages.value)
    if (typeof parsed === 'string') return parsed
    entry.messages = parsed
  }

  const input = field(value, 'input_length', 'inputLength')
  if (input.value !== undefined) {
    if (!isWhole(input.value, 1)) return `"${input.key}" must be a whole number ≥ 1 (prompt tokens), got ${shown(input.value)}`
    entry.inputLength = input.value
  } else if (!entry.messages) {
    // AIPerf's traces may give the prompt as "text_input", which fluxperf does not read.
    const note = Object.hasOwn(value, 'text_input') ? ' ("text_input" is not read: give the prompt as "messages")' : ''
    return `no "input_length" or "messages"; expected the prompt's length in tokens ("input_length": 512) or the prompt itself ("messages": [{"role": "user", "content": "..."}])${note}`
  }

  const output = field(value, 'output_length', 'outputLength')
  if (output.value === undefined) return '"output_length" is missing; expected the number of tokens to generate (a whole number ≥ 1)'
  if (!isWhole(output.value, 1)) return `"${output.key}" must be a whole number ≥ 1 (tokens to generate), got ${shown(output.value)}`
  entry.outputLength = output.value

  const session = field(value, 'session_id', 'sessionId')
  if (session.value !== undefined && session.value !== null) {
    if (typeof session.value === 'string' && session.value !== '') entry.sessionId = session.value
    else if (typeof session.value === 'number' && Number.isFinite(session.value)) entry.sessionId = String(session.value)
    else return `"${session.key}" must be a non-empty string or a number, got ${shown(session.value)}`
  }

  const hashes = field(value, 'hash_ids', 'hashIds')
  if (hashes.value !== undefined && hashes.value !== null) {
    if (!Array.isArray(hashes.value)) return `"${hashes.key}" must be an array of whole numbers ≥ 0 (the ids of the prompt's blocks), got ${shown(hashes.value)}`
    for (const [i, id] of hashes.value.entries()) {
      if (!isWhole(id, 0)) return `"${hashes.key}"[${i}] must be a whole number ≥ 0 (a block id), got ${shown(id)}`
    }
    if (hashes.value.length > 0) entry.hashIds = hashes.value as number[]
  }
  return entry
}

/** An OpenAI messages array, kept verbatim as {role, content} (other keys of a message are dropped). */
function chatMessages(value: unknown): ChatMessage[] | string {
  if (!Array.isArray(value)) return `"messages" must be an array of {"role", "content"} objects, got ${shown(value)}`
  if (value.length === 0) return '"messages" is empty; expected at least one {"role": "user", "content": "..."} message'
  const out: ChatMessage[] = []
  for (const [i, m] of value.entries()) {
    const at = `"messages"[${i}]`
    if (!isObject(m)) return `${at} must be an object {"role", "content"}, got ${shown(m)}`
    const role = ROLES.find((r) => r === m.role)
    if (!role) return `${at}.role is ${m.role === undefined ? 'missing' : shown(m.role)}; expected one of: ${ROLES.join(', ')}`
    if (typeof m.content !== 'string') return `${at}.content must be a string, got ${shown(m.content)}`
    out.push({ role, content: m.content })
  }
  return out
}

/** A row's field by its snake_case name or camelCase alias (the first present), with the key used. */
function field(row: Record<string, unknown>, ...keys: string[]): { key: string; value: unknown } {
  for (const key of keys) if (Object.hasOwn(row, key)) return { key, value: row[key] }
  return { key: keys[0] as string, value: undefined }
}

function isWhole(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A value for an error message: short literals as JSON (`"abc"`, `-1`, `null`), containers by kind. */
function shown(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object' && v !== null) return 'an object'
  // JSON reads 1e400 as Infinity, which JSON.stringify would show as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return `a number out of range (${v})`
  if (typeof v === 'string' && v.length > 40) return JSON.stringify(`${v.slice(0, 37)}...`)
  return JSON.stringify(v)
}
