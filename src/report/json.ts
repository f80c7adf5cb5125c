import type { RequestRecord, RoundResult, RunResult } from '../types.ts'

/**
 * `concurrency_{c}_round_{r}.json` in the Python tools' layout: configuration, summary (the Python tools' flat
 * `avg_ttft`, `p50_ttft`, ... keys plus fluxperf's full round), and one entry per request. The configuration
 * and summary are indented two spaces; each request's entry is compact JSON on a line of its own (formatting
 * half a million entries with indentation took seconds and 3.5 KB of garbage each, and made the file 70 %
 * larger: docs/design/report.md). A JSON reader sees the same document either way.
 */
export function roundJson(run: Pick<RunResult, 'endpoint' | 'model' | 'seed' | 'config'>, round: RoundResult, records: readonly RequestRecord[]): string {
  return roundFileOpening(run, round, records.length) + records.map((r, i) => entryLine(r, i === 0)).join('') + roundFileClosing(records.length)
}

/** The round file up to its first request: the configuration, the summary and the opening of `requests`. */
export function roundFileOpening(run: Pick<RunResult, 'endpoint' | 'model' | 'seed' | 'config'>, round: RoundResult, requests: number): string {
  const head = JSON.stringify(roundHead(run, round), null, 2)
  // The head's closing brace is replaced by the requests array.
  return `${head.slice(0, head.lastIndexOf('\n}'))},\n  "requests": ${requests === 0 ? '[]' : '['}`
}

/** One request's entry as it stands in the array: its separator (none for the first), then its line. */
export function entryLine(record: RequestRecord, first: boolean): string {
  return placedEntry(entryJson(record), first)
}

/** An entry's text (entryJson's) as it stands in the array, after its separator. */
export function placedEntry(entry: string, first: boolean): string {
  return `${first ? '' : ','}\n    ${entry}`
}

/** The record's keys the entry leaves out (`promptPreview` is its `prompt`), and the entry's own keys. */
const LEFT_OUT = { outputText: undefined, promptPreview: undefined, index: undefined }
const ENTRY_KEYS = ['prompt', 'ttft', 'itl', 'latency', 'input_tokens', 'output_tokens', 'success', 'toJSON']

/**
 * The keys the client's `toRecord()` writes before its optional ones, in its order: a record that starts with
 * exactly these (a test holds the client to it) is written key by key, each number formatted once.
 */
const RECORD_KEYS = [
  'id', 'index', 'sessionId', 'turnIndex', 'round', 'concurrency', 'startedAt', 'ttftMs', 'ttfatMs', 'latencyMs', 'chunkOffsetsMs',
  'tpotMs', 'inputTokens', 'inputTokenSource', 'outputTokens', 'outputTokenSource', 'cachedTokens', 'status', 'finishReason', 'ok',
  'outputText', 'promptPreview',
]

/**
 * `JSON.stringify(requestEntry(r))`, the same text, without the object rest and spread that made it a third
 * of a round file's cost per request (a million requests: docs/performance.md, "The round files' entries").
 * A record of the client's shape is written field by field, its optional fields by JSON.stringify; one of
 * another shape (a field missing or of another type, a key of the entry's own) takes the general paths. The
 * tests compare all three on every field a record can have.
 */
export function entryJson(r: RequestRecord): string {
  const keys = Object.keys(r)
  if (clientShaped(r, keys)) return clientEntryJson(r, keys)
  if (!ordinary(r)) return JSON.stringify(requestEntry(r))
  const head = `{"index":${r.index},"prompt":${JSON.stringify(r.promptPreview)},"ttft":${numberJson(r.ttftMs)},"itl":${numberJson(r.tpotMs)},"latency":${numberJson(r.latencyMs)},"input_tokens":${numberJson(r.inputTokens)},"output_tokens":${numberJson(r.outputTokens)},"success":${r.ok}`
  // Keys set to undefined keep their place and are left out by JSON.stringify, as the rest pattern leaves them out.
  const rest = JSON.stringify({ ...r, ...LEFT_OUT })
  // Empty when every field was inherited (the spread copies own keys only, as the rest pattern does).
  return rest === '{}' ? `${head}}` : `${head},${rest.slice(1)}`
}

/**
 * The entry of a record of the client's shape. Its TTFT, TPOT, latency and token counts stand twice in the
 * entry (the seed's name, then the record's) and are formatted once: formatting doubles was most of the
 * cost (about 1 µs a request of the 3 the general path took).
 */
function clientEntryJson(r: RequestRecord, keys: string[]): string {
  return clientTexts(r, keys, false).entry
}

/**
 * A record's JSONL line (`JSON.stringify(r)` and a newline) and its round-file entry (`entryJson(r)`), the same
 * texts as those. With `--save-requests` every request of `fluxperf run` is written to both files; for a record of
 * the client's shape both are made from one formatting of its numbers and strings, 2.5 µs a request instead of
 * 4.1 (docs/performance.md, "One formatting for both files").
 */
export function requestTexts(r: RequestRecord): { line: string; entry: string } {
  const keys = Object.keys(r)
  if (clientShaped(r, keys) && lineFieldByField(r)) return clientTexts(r, keys, true) as { line: string; entry: string }
  return { line: `${JSON.stringify(r)}\n`, entry: entryJson(r) }
}

/**
 * What JSON.stringify(r) would do differently from writing a client-shaped record's fields in order: call the
 * record's own (inherited) toJSON, or leave out or convert an `outputText` that is not a string.
 */
function lineFieldByField(r: RequestRecord): boolean {
  return typeof r.outputText === 'string' && (r as { toJSON?: unknown }).toJSON === undefined
}

/**
 * The entry of a record of the client's shape and, with `withLine`, its JSONL line: the fields both hold are
 * formatted once. A one-token answer's latency and single chunk offset are its TTFT, and written as such.
 */
function clientTexts(r: RequestRecord, keys: string[], withLine: boolean): { entry: string; line: string | undefined } {
  const ttft = numberJson(r.ttftMs)
  const tpot = numberJson(r.tpotMs)
  const latency = r.latencyMs === r.ttftMs ? ttft : numberJson(r.latencyMs)
  const input = numberJson(r.inputTokens)
  const output = numberJson(r.outputTokens)
  // One-chunk and reasoning-free answers have their first answer token at their first token.
  const ttfat = r.ttfatMs === r.ttftMs ? ttft : numberJson(r.ttfatMs as number | null)
  const offsets = r.chunkOffsetsMs
  const offsetsJson = offsets.length === 1 && offsets[0] === r.ttftMs ? `[${ttft}]` : JSON.stringify(offsets)
  const prompt = JSON.stringify(r.promptPreview)
  const id = JSON.stringify(r.id)
  // The record's own fields from sessionId to ok, in the order both texts hold them.
  let fields = `"sessionId":${JSON.stringify(r.sessionId)},"turnIndex":${numberJson(r.turnIndex)},"round":${numberJson(r.round)},"concurrency":${numberJson(r.concurrency)},"startedAt":${numberJson(r.startedAt)}`
  fields += `,"ttftMs":${ttft},"ttfatMs":${ttfat},"latencyMs":${latency},"chunkOffsetsMs":${offsetsJson},"tpotMs":${tpot}`
  fields += `,"inputTokens":${input},"inputTokenSource":${JSON.stringify(r.inputTokenSource)},"outputTokens":${output},"outputTokenSource":${JSON.stringify(r.outputTokenSource)}`
  fields += `,"cachedTokens":${numberJson(r.cachedTokens)},"status":${numberJson(r.status)},"finishReason":${JSON.stringify(r.finishReason)},"ok":${r.ok}`
  const end = `${optionalJson(r, keys)}}`
  const entry = `{"index":${r.index},"prompt":${prompt},"ttft":${ttft},"itl":${tpot},"latency":${latency},"input_tokens":${input},"output_tokens":${output},"success":${r.ok},"id":${id},${fields}${end}`
  if (!withLine) return { entry, line: undefined }
  return { entry, line: `{"id":${id},"index":${r.index},${fields},"outputText":${JSON.stringify(r.outputText)},"promptPreview":${prompt}${end}\n` }
}

/**
 * The fields after the client's, as the spread object (and JSON.stringify of the record) hold them: JSON.stringify
 * writes them, and calls any toJSON with its key, as it would there. Empty, or a comma and the fields.
 */
function optionalJson(r: RequestRecord, keys: string[]): string {
  if (keys.length === RECORD_KEYS.length) return ''
  const optional: Record<string, unknown> = {}
  for (let i = RECORD_KEYS.length; i < keys.length; i++) optional[keys[i] as string] = r[keys[i] as keyof RequestRecord]
  const rest = JSON.stringify(optional)
  return rest === '{}' ? '' : `,${rest.slice(1, -1)}`
}

/** Whether entryJson writes `r` field by field (exported for the test that holds the client to RECORD_KEYS). */
export function writtenFieldByField(r: RequestRecord): boolean {
  return clientShaped(r, Object.keys(r))
}

/** The record starts with the client's keys, in its order, each of the type the fast path writes; no optional key is the entry's own. */
function clientShaped(r: RequestRecord, keys: string[]): boolean {
  if (keys.length < RECORD_KEYS.length) return false
  for (let i = 0; i < RECORD_KEYS.length; i++) if (keys[i] !== RECORD_KEYS[i]) return false
  for (let i = RECORD_KEYS.length; i < keys.length; i++) if (ENTRY_KEYS.includes(keys[i] as string)) return false
  const offsets = r.chunkOffsetsMs as unknown
  return Number.isFinite(r.index) && typeof r.promptPreview === 'string' && typeof r.ok === 'boolean' && typeof r.id === 'string' && typeof r.sessionId === 'string'
    && typeof r.turnIndex === 'number' && typeof r.round === 'number' && typeof r.concurrency === 'number' && typeof r.startedAt === 'number'
    && numberOrNull(r.ttftMs) && numberOrNull(r.ttfatMs) && typeof r.latencyMs === 'number' && numberOrNull(r.tpotMs)
    && Array.isArray(offsets) && (offsets as { toJSON?: unknown }).toJSON === undefined
    && typeof r.inputTokens === 'number' && typeof r.inputTokenSource === 'string' && typeof r.outputTokens === 'number' && typeof r.outputTokenSource === 'string'
    && numberOrNull(r.cachedTokens) && numberOrNull(r.status) && (r.finishReason === null || typeof r.finishReason === 'string')
}

function numberOrNull(value: unknown): boolean {
  return value === null || typeof value === 'number'
}

function ordinary(r: RequestRecord): boolean {
  if (!Number.isFinite(r.index) || typeof r.promptPreview !== 'string' || typeof r.ok !== 'boolean') return false
  if (typeof r.latencyMs !== 'number' || typeof r.inputTokens !== 'number' || typeof r.outputTokens !== 'number') return false
  if ((r.ttftMs !== null && typeof r.ttftMs !== 'number') || (r.tpotMs !== null && typeof r.tpotMs !== 'number')) return false
  for (const key of ENTRY_KEYS) if (key in r) return false
  return true
}

/** A number as JSON writes it: non-finite ones are null. */
function numberJson(n: number | null): string {
  return n === null || !Number.isFinite(n) ? 'null' : String(n)
}

/** The round file after its last request. */
export function roundFileClosing(requests: number): string {
  return `${requests === 0 ? '' : '\n  ]'}\n}\n`
}

/** The configuration and summary of `concurrency_{c}_round_{r}.json` (everything but its requests). */
export function roundHead(run: Pick<RunResult, 'endpoint' | 'model' | 'seed' | 'config'>, round: RoundResult): { configuration: Record<string, unknown>; summary: Record<string, unknown> } {
  const flat: Record<string, number> = {}
  for (const [key, metric] of [['ttft', 'ttft'], ['itl', 'tpot'], ['latency', 'latency']] as const) {
    const s = round.metrics[metric]
    if (!s) continue
    for (const stat of ['avg', 'p50', 'p90', 'p95', 'p99', 'min', 'max', 'stddev'] as const) flat[`${stat}_${key}`] = s[stat]
  }
  return {
    configuration: {
      ...run.config,
      endpoint: run.endpoint,
      model: run.model,
      concurrency: round.concurrency,
      num_samples: round.total,
      round: round.round,
      seed: run.seed,
    },
    summary: {
      total_requests: round.total,
      successful_requests: round.succeeded,
      failed_requests: round.failed,
      duration_s: round.durationS,
      ...flat,
      request_throughput: round.throughput.requestsPerS,
      token_throughput: round.throughput.outputTokensPerS,
      round,
    },
  }
}

/** One request in the Python tools' shape (`ttft`, `itl` = TPOT, `latency`, ...) followed by the full record. */
export function requestEntry(r: RequestRecord): Record<string, unknown> {
  const { outputText: _text, promptPreview, index, ...record } = r
  return {
    index,
    prompt: promptPreview,
    ttft: r.ttftMs,
    itl: r.tpotMs,
    latency: r.latencyMs,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    success: r.ok,
    ...record,
  }
}
