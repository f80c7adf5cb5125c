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
  return `${first ? '' : ','}\n    ${entryJson(record)}`
}

/** The record's keys the entry leaves out (`promptPreview` is its `prompt`), and the entry's own keys. */
const LEFT_OUT = { outputText: undefined, promptPreview: undefined, index: undefined }
const ENTRY_KEYS = ['prompt', 'ttft', 'itl', 'latency', 'input_tokens', 'output_tokens', 'success', 'toJSON']

/**
 * `JSON.stringify(requestEntry(r))`, the same text, without the object rest and spread that made it a third
 * of a round file's cost per request (a million requests: docs/performance.md, "The round files' entries").
 * A record of another shape (a field missing or of another type, a key of the entry's own) takes the
 * general path; the test compares both on every field a record can have.
 */
export function entryJson(r: RequestRecord): string {
  if (!ordinary(r)) return JSON.stringify(requestEntry(r))
  const head = `{"index":${r.index},"prompt":${JSON.stringify(r.promptPreview)},"ttft":${numberJson(r.ttftMs)},"itl":${numberJson(r.tpotMs)},"latency":${numberJson(r.latencyMs)},"input_tokens":${numberJson(r.inputTokens)},"output_tokens":${numberJson(r.outputTokens)},"success":${r.ok}`
  // Keys set to undefined keep their place and are left out by JSON.stringify, as the rest pattern leaves them out.
  const rest = JSON.stringify({ ...r, ...LEFT_OUT })
  // Empty when every field was inherited (the spread copies own keys only, as the rest pattern does).
  return rest === '{}' ? `${head}}` : `${head},${rest.slice(1)}`
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
