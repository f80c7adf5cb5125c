// The one masking function of the golden tests (test/golden/README.md): it replaces what varies from run
// to run (timings, rates, clock times, ports, the temp directory) with placeholders and keeps everything
// else (labels, column names and order, key names and order, row and line counts, token counts, ids,
// error kinds, success flags), so that a changed layout fails while a slower machine does not.
//
// Placeholders:
//   <T>      a timing-dependent number (ms, s, rates, ratios of timings, percentages of timings)
//   <TIME>   an ISO-8601 clock time
//   <PORT>   the port of a loopback URL (the built-in mock listens on port 0)
//   <TMP>    the temp directory of the test (see TMP_PREFIX)
//   <STAMP>  the YYYYMMDD_HHMMSS stamp in a file name
//   <ENV>    a value that depends on the machine, not on the run (the ulimit-derived maxConnections)
import { tmpdir } from 'node:os'

export const T = '<T>'

/** Prefix of the temp directories the golden tests write into; anything under one reads as <TMP>. */
export const TMP_PREFIX = 'fluxperf-golden-'

const NUM = String.raw`-?\d+(?:\.\d+)?(?:e[-+]?\d+)?`
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const TMP_RE = new RegExp(`${escapeRe(tmpdir())}/${TMP_PREFIX}[A-Za-z0-9]+`, 'g')

/**
 * Masks one output. `name` says how to read `content`: a file name (`*.json`, `*.jsonl`, `*.csv`, anything
 * else is text) or `stdout`. The same rules apply in every format: a timing value is masked wherever it
 * appears, everything else is kept.
 */
export function mask(name: string, content: string): string {
  if (name.endsWith('.jsonl')) return content.split('\n').map((line) => (line === '' ? line : JSON.stringify(maskJsonValue(JSON.parse(line), '', false)))).join('\n')
  if (name.endsWith('.json')) return JSON.stringify(maskJsonValue(JSON.parse(content), '', false), null, 2) + (content.endsWith('\n') ? '\n' : '')
  if (name.endsWith('.csv')) return maskCsv(content)
  return maskText(content)
}

/** Clock times, ports, the temp directory and file stamps, in any string. */
function maskStrings(s: string): string {
  return s
    .replace(TMP_RE, '<TMP>')
    .replace(/(https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\])):\d+/g, '$1:<PORT>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g, '<TIME>')
    .replace(/_\d{8}_\d{6}(?=\.jsonl\b)/g, '_<STAMP>')
}

// ---------------------------------------------------------------------------------------------------
// JSON: by key name. A timing key masks its number, every element of its array (the length is kept) or,
// for an object (`metrics.ttft`), every number inside except `count`.

/**
 * Keys whose values are timings or derived from timings: the seed's `ttft`/`itl`/`latency` and the flat
 * `avg_ttft` ... `token_throughput`, fluxperf's `*Ms`, `*S`, `*PerS`, clock stamps, speedup cold/warm/ratio
 * and the HDR histograms (encoded timings). Token counts, ids, flags and `count` are not timing keys.
 */
const TIMING_KEY = /^(ttft|itl|itlChunk|tpot|latency|cold|warm|ratio|histograms|startedAt|finishedAt|scheduledAt|sentAt|intendedAt)$|(^|_)(ttft|itl|tpot|latency|throughput|lag)(_|$)|(Ms|PerS|durationS|_s)$/
/** Config subtrees: settings, not measurements (`goodputSlo.ttftMs` is a limit), so only <ENV>/<PORT> apply. */
const CONFIG_KEY = /^(config|configuration)$/

function maskJsonValue(value: unknown, key: string, inConfig: boolean): unknown {
  if (typeof value === 'string') return maskStrings(value)
  if (Array.isArray(value)) return value.map((v) => maskJsonValue(v, key, inConfig))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      // queuedMs (time a request waited inside the client for its connection) is written only when it is
      // at least 0.05 ms (src/client/request.ts), so whether the key exists at all depends on timing.
      if (k === 'queuedMs') continue
      if (inConfig || CONFIG_KEY.test(k)) out[k] = k === 'maxConnections' && typeof v === 'number' ? '<ENV>' : maskJsonValue(v, k, true)
      else if (TIMING_KEY.test(k)) out[k] = maskTiming(v)
      else out[k] = maskJsonValue(v, k, false)
    }
    return out
  }
  return value
}

function maskTiming(value: unknown): unknown {
  if (typeof value === 'number') return T
  if (typeof value === 'string') return T
  if (Array.isArray(value)) return value.map(maskTiming)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = k === 'count' ? v : maskTiming(v)
    return out
  }
  return value // null stays null: null and a number are different facts
}

// ---------------------------------------------------------------------------------------------------
// CSV. `metrics_summary.csv` (first cell `Metric/Round`): by block title and row label. Every other CSV:
// by column name (the header row). An empty cell stays empty (empty means "no value", never a zero).

/** Column names of timing values: ttft_avg, latency_p50, ttft_ms, schedule_lag_ms, generation_speed, started_at, ... */
const TIMING_COLUMN = /(^|_)(ttft|itl|tpot|latency|lag|speed|throughput)(_|$)|_(ms|s|time|at)$/
/** Statistic counts (`ttft_count`) are not timings. */
const COUNT_COLUMN = /_count$/
/** metrics_summary.csv blocks whose every value is a timing. */
const TIMING_BLOCK = /\(ms\)$|^Throughput$/
/** metrics_summary.csv rows (in other blocks) whose values are timings. */
const TIMING_ROW = /\((s|req\/s|tok\/s)\)$|Speedup/

function maskCsv(content: string): string {
  const lines = content.split('\n')
  const header = splitCsv(lines[0] ?? '')
  if (header[0] === 'Metric/Round') {
    let block = ''
    return lines.map((line, i) => {
      if (i === 0 || line === '') return maskStrings(line)
      const cells = splitCsv(line)
      if (cells.length === 1) {
        block = cells[0] as string
        return maskStrings(line)
      }
      if (TIMING_BLOCK.test(block) || TIMING_ROW.test(cells[0] as string)) return [cells[0], ...cells.slice(1).map((c) => (c === '' ? c : T))].join(',')
      return maskStrings(line)
    }).join('\n')
  }
  const timing = header.map((h) => TIMING_COLUMN.test(h) && !COUNT_COLUMN.test(h))
  return lines.map((line, i) => {
    if (i === 0 || line === '') return maskStrings(line)
    return splitCsv(line).map((cell, j) => (timing[j] && cell !== '' ? T : joinCsvCell(maskStrings(cell)))).join(',')
  }).join('\n')
}

/** Splits one CSV line (quoted cells with "" escapes; the outputs here never hold a newline in a cell). */
function splitCsv(line: string): string[] {
  const cells: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cell += '"'), i++
      else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') cells.push(cell), (cell = '')
    else cell += c
  }
  cells.push(cell)
  return cells
}

function joinCsvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

// ---------------------------------------------------------------------------------------------------
// Text (console output, *.txt). Line rules, in order:
//  1. the seed's metric table (`│ TTFT (ms) │ 29.77 │ ...`): every number cell of a row labelled (ms),
//     <T> padded to the cell's width;
//  2. the SLO table (header `round  metric  statistic  observed  limit  result`): the observed cell
//     when it is a time (`55.10 ms`); limits and results are kept. Its column widths follow the widest
//     observed value, so inside this table runs of 2+ spaces read as two and dash rules as `--`;
//  3. elsewhere: a number followed by a time unit (ms, s, seconds), a rate unit (tokens/sec,
//     requests/sec, req/s, tokens/s), `x` (a speedup ratio of two timings) or `% of target`, one after
//     `Requests per second:` / `Achieved QPS:` / `achieved`, the cold side of `(29.8 → 14.2 ms)`, and
//     `key=value` pairs whose key is a timing (`ttft_ms=`, `generation_speed=`);
//  4. inside a periodic `Performance summary at ...` block of multi-round-qa, also the counts: which
//     requests have finished when the interval timer fires depends on timing. The final summary keeps
//     them.
// A number right-aligned in a fixed-width field (preceded by 2+ spaces: `Min:         14.63 ms`) becomes
// <T> right-aligned in the same width, so the alignment stays pinned; `Mean: 17.20 ms` becomes `Mean: <T> ms`.
//
// One line is dropped with the blank line before it: `Warning: the client was saturated (event-loop delay
// p99 ... ms); timings are not trustworthy.` It is printed when the event loop lagged more than 50 ms at
// p99 during the run (src/metrics/clientHealth.ts), i.e. when the machine is busy: on a loaded 2-core
// machine it came and went between identical runs. Whether the run is saturated is not pinned.

const NUMBER_RULES: RegExp[] = [
  new RegExp(`( *)(${NUM})(?= → ${NUM} ms)`, 'g'),
  new RegExp(`( *)(${NUM})(?= ?(?:ms|s|seconds)\\b)`, 'g'),
  new RegExp(`( *)(${NUM})(?= (?:tokens|requests|req)/s(?:ec)?\\b)`, 'g'),
  new RegExp(`( *)(${NUM})(?=x\\b)`, 'g'),
  new RegExp(`( *)(${NUM})(?=% of target)`, 'g'),
  new RegExp(`(?<=(?:Requests per second|Achieved QPS):)( *)(${NUM})`, 'g'),
  new RegExp(`(?<=\\bachieved)( *)(${NUM})`, 'g'),
  new RegExp(`(?<=\\b\\w*(?:_ms|_s|speed|throughput)=)()(${NUM})`, 'g'),
]
/** Lines of a periodic summary whose counts depend on when the timer fired. */
const PERIODIC_COUNT_LINE = /^(Successful requests|Failed requests|Total input tokens|Total generated tokens|  Scheduled sends):/

const SATURATED = /^Warning: the client was saturated \(event-loop delay p99 [\d.]+ ms\); timings are not trustworthy\.$/

function maskNumbers(line: string): string {
  let out = line
  for (const rule of NUMBER_RULES) out = out.replace(rule, (_m, pad: string, num: string) => (pad.length >= 2 ? T.padStart(pad.length + num.length) : `${pad}${T}`))
  return out
}

function maskText(content: string): string {
  const lines = content.split('\n').map(maskStrings)
  let periodic = false
  let inSloTable = false
  const out: string[] = []
  for (const line of lines) {
    if (SATURATED.test(line)) {
      if (out.at(-1) === '') out.pop()
      continue
    }
    if (/^Performance summary at /.test(line)) periodic = true
    else if (/^(Final performance summary|PASSED|FAILED|INTERRUPTED)\b/.test(line)) periodic = false
    if (!inSloTable && /^round\s{2,}metric\s{2,}statistic\s{2,}observed\s{2,}limit\s{2,}result$/.test(line)) {
      inSloTable = true
      out.push(line.replace(/ {2,}/g, '  '))
      continue
    }
    if (inSloTable) {
      if (line.trim() === '') {
        inSloTable = false
        out.push(line)
        continue
      }
      if (/^[- ]+$/.test(line)) {
        out.push(line.replace(/-+/g, '--').replace(/ {2,}/g, '  '))
        continue
      }
      const cells = line.split(/ {2,}/)
      // Columns: round, metric, statistic, observed, limit, result.
      if (new RegExp(`^${NUM} ms$`).test(cells[3] ?? '')) cells[3] = `${T} ms`
      out.push(cells.join('  '))
      continue
    }
    if (/^│ [^│]*\(ms\)/.test(line)) {
      // Fixed-width cells (a number padded to 12): <T> is padded the same, so the cell width stays pinned.
      out.push(line.replace(new RegExp(`│ (${NUM} *)(?=│)`, 'g'), (_m, cell: string) => `│ ${T.padEnd(cell.length)}`))
      continue
    }
    let masked = maskNumbers(line)
    if (periodic && PERIODIC_COUNT_LINE.test(masked)) masked = masked.replace(new RegExp(`(?<=: )${NUM}`, 'g'), T)
    out.push(masked)
  }
  return out.join('\n')
}
