import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ScheduledSend } from '../schedule/index.ts'
import { noSamplesReason } from '../metrics/index.ts'
import type { MetricName, MetricSummary, MultiRoundQaResult, OpenLoopSummary, RequestRecord, RoundResult } from '../types.ts'
import { csvCell } from './csv.ts'

/** `2.00` for qps 2: the Python tools' file-name tag. */
export function qpsTag(qps: number): string {
  return qps.toFixed(2)
}

/** The Python tools' file names for a target rate. */
export function qaFileNames(qps: number): { realtime: string; periodic: string; final: string } {
  const q = qpsTag(qps)
  return {
    realtime: `realtime_stats_qps_${q}.txt`,
    periodic: `performance_summary_qps_${q}.txt`,
    final: `final_performance_summary_qps_${q}.txt`,
  }
}

/** Mean gap between content chunks of one request (its own ITL), ms; null with fewer than 2 chunks. */
export function requestItlMs(r: RequestRecord): number | null {
  const o = r.chunkOffsetsMs
  return o.length < 2 ? null : ((o[o.length - 1] as number) - (o[0] as number)) / (o.length - 1)
}

/** Output tokens per second of decoding (after the first token); null when not measurable. */
export function generationSpeed(r: RequestRecord): number | null {
  if (!r.ok || r.ttftMs === null) return null
  const decodeS = (r.latencyMs - r.ttftMs) / 1000
  return decodeS > 0 && r.outputTokens > 1 ? (r.outputTokens - 1) / decodeS : null
}

const f2 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(2))

/** Header lines of `realtime_stats_qps_X.XX.txt`. */
export function realtimeHeader(qps: number): string {
  return `# fluxperf multi-round-qa realtime stats, target QPS ${qpsTag(qps)}: one line per finished request (times in ms, speed in tokens/s)\n`
}

/** One line of `realtime_stats_qps_X.XX.txt`. */
export function realtimeLine(r: RequestRecord, send: ScheduledSend): string {
  const end = new Date(r.startedAt + r.latencyMs).toISOString()
  const common = `${end} user=${send.userId} request=${r.id} question=${send.question + 1}`
  if (!r.ok) return `${common} status=${r.status ?? 'none'} error=${r.error?.kind ?? 'other'} message=${JSON.stringify(r.error?.message ?? '')}\n`
  return `${common} prompt_tokens=${r.inputTokens} generation_tokens=${r.outputTokens} cached_tokens=${r.cachedTokens ?? 'n/a'} ` +
    `ttft_ms=${f2(r.ttftMs)} tpot_ms=${f2(r.tpotMs)} itl_ms=${f2(requestItlMs(r))} generation_speed=${f2(generationSpeed(r))} ` +
    `schedule_lag_ms=${f2(send.lagMs)}${send.late ? ' late=true' : ''}\n`
}

/** What a QA summary block shows. */
export interface QaSummaryInput {
  title: string
  /** Seconds since the schedule started. */
  elapsedS: number
  round: RoundResult
  openLoop: OpenLoopSummary
  /** Configuration lines (the final summary shows them). */
  config?: Record<string, unknown>
}

function stats3(name: string, round: RoundResult, metric: MetricName): string[] {
  const s = round.metrics[metric]
  if (!s || s.count === 0) return [`${name}: n/a (${noSamplesReason(round, metric)})`]
  return [`${name}:`, `  Mean: ${f2(s.avg)} ms`, `  Median: ${f2(s.p50)} ms`, `  P99: ${f2(s.p99)} ms`]
}

/** `mean 1.00 ms, median ..., P99 ...` of a schedule statistic, or n/a with the reason when it has no samples. */
function scheduleStats(s: MetricSummary, reason: string, withMax = false): string {
  if (s.count === 0) return `n/a (${reason})`
  return `mean ${f2(s.avg)} ms, median ${f2(s.p50)} ms, P99 ${f2(s.p99)} ms${withMax ? `, max ${f2(s.max)} ms` : ''}`
}

/**
 * A summary block in the Python tools' shape (requests, duration, tokens, request and token throughput,
 * TTFT/TPOT/ITL mean, median and P99) plus the open-loop accounting: target vs achieved QPS, late and
 * dropped sends, schedule lag, and latency measured from the intended send time.
 */
export function qaSummaryText(input: QaSummaryInput): string {
  const { round, openLoop: o } = input
  const rule = '='.repeat(60)
  const lines = [rule, input.title, rule]
  if (input.config) {
    lines.push('Configuration:')
    for (const [k, v] of Object.entries(input.config)) if (v !== undefined) lines.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    lines.push('')
  }
  const inTokens = Math.round(round.avgInputTokens * round.succeeded)
  const outTokens = Math.round(round.avgOutputTokens * round.succeeded)
  lines.push(
    `Elapsed since start: ${input.elapsedS.toFixed(1)} s`,
    `Successful requests: ${round.succeeded}`,
    `Failed requests: ${round.failed}`,
    `Benchmark duration: ${round.total === 0 ? 'n/a (no requests finished)' : `${round.durationS.toFixed(2)} s`}`,
    `Total input tokens: ${inTokens}`,
    `Total generated tokens: ${outTokens}`,
    `Request throughput: ${round.throughput.requestsPerS.toFixed(2)} req/s`,
    `Input token throughput: ${round.throughput.inputTokensPerS.toFixed(2)} tokens/s`,
    `Output token throughput: ${round.throughput.outputTokensPerS.toFixed(2)} tokens/s`,
    '',
    ...stats3('Time to First Token (TTFT)', round, 'ttft'),
    ...stats3('Time per Output Token (TPOT, excl. 1st token)', round, 'tpot'),
    ...stats3('Inter-token Latency (ITL)', round, 'itl'),
    '',
    'Open-loop schedule:',
    `  Target QPS: ${o.targetRate.toFixed(2)}`,
    `  Achieved QPS: ${o.achievedRate.toFixed(2)} (${o.targetRate > 0 ? ((o.achievedRate / o.targetRate) * 100).toFixed(1) : 'n/a'}% of target)`,
    `  Scheduled sends: ${o.scheduled} | sent: ${o.sent} | late: ${o.late} | dropped: ${o.dropped}`,
    `  Schedule lag (actual - intended send): ${scheduleStats(o.scheduleLag, 'nothing sent', true)}`,
    `  TTFT from intended send: ${scheduleStats(o.ttftFromScheduled, 'no successful requests')}`,
    `  Latency from intended send: ${scheduleStats(o.latencyFromScheduled, 'no successful requests')}`,
  )
  if (round.errors.length > 0) {
    lines.push('', 'Errors:')
    for (const e of round.errors) lines.push(`  ${e.kind}: ${e.count} (${e.firstMessage.slice(0, 160)})`)
  }
  return lines.join('\n') + '\n'
}

/** Columns of the `--output` CSV: one row per scheduled send (dropped ones included, with empty timings). */
export const QA_CSV_COLUMNS = [
  'request_id', 'user_id', 'question_id', 'outcome', 'late', 'scheduled_time', 'launch_time', 'finish_time',
  'schedule_lag_ms', 'prompt_tokens', 'generation_tokens', 'cached_tokens', 'ttft_ms', 'ttft_from_scheduled_ms',
  'tpot_ms', 'itl_ms', 'latency_ms', 'latency_from_scheduled_ms', 'generation_time_s', 'generation_speed', 'status', 'error',
] as const

/** One CSV row for a scheduled send and, when it was sent and finished, its request. */
export function qaCsvRow(send: ScheduledSend, r: RequestRecord | undefined): string {
  const n = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits))
  const iso = (ms: number | null | undefined): string => (ms === null || ms === undefined ? '' : new Date(ms).toISOString())
  const outcome = send.dropped ? 'dropped' : !r ? 'unfinished' : r.ok ? 'ok' : 'failed'
  const lag = send.lagMs ?? 0
  const cells = [
    send.requestId ?? '', String(send.userId), String(send.question + 1), outcome, String(send.late), iso(send.intendedAt), iso(send.sentAt),
    iso(r ? r.startedAt + r.latencyMs : null), n(send.lagMs), r ? String(r.inputTokens) : '', r ? String(r.outputTokens) : '',
    r?.cachedTokens === null || r === undefined ? '' : String(r.cachedTokens),
    n(r?.ttftMs), r?.ttftMs === null || r === undefined ? '' : n(r.ttftMs + lag), n(r?.tpotMs), n(r ? requestItlMs(r) : null),
    n(r?.latencyMs), r ? n(r.latencyMs + lag) : '', r && r.ttftMs !== null ? n((r.latencyMs - r.ttftMs) / 1000, 3) : '',
    n(r ? generationSpeed(r) : null), r?.status === null || r === undefined ? '' : String(r.status), r?.error ? `${r.error.kind}: ${r.error.message}` : '',
  ]
  return cells.map(csvCell).join(',')
}

/** A text file appended line by line, synchronously (a killed run keeps every finished line). */
export class AppendFile {
  readonly path: string
  private fd: number | null

  constructor(path: string, truncate = true) {
    this.path = path
    this.fd = openSync(path, truncate ? 'w' : 'a')
  }

  write(text: string): void {
    if (this.fd !== null) writeSync(this.fd, text)
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }
}

/** The final summary block of a multi-round QA run, with its configuration (`final_performance_summary_qps_X.XX.txt`). */
export function qaFinalSummary(run: MultiRoundQaResult): string {
  const s = run.schedule
  return qaSummaryText({
    title: 'Final performance summary', elapsedS: s.elapsedS, round: run.rounds[0] as RoundResult, openLoop: run.openLoop,
    config: {
      model: run.model, endpoint: run.endpoint, seed: run.seed, qps: s.qps, arrival: s.arrival, burstiness: s.burstiness,
      num_users: s.numUsers, num_rounds: s.numRounds, shared_system_prompt: s.sharedSystemPrompt, user_history_prompt: s.userHistoryPrompt,
      answer_len: s.answerLen, ignore_eos: s.ignoreEos, time_s: s.timeS, users_created: s.usersCreated,
      questions: s.questions, tokenizer: s.tokenizer, interrupted: run.interrupted || undefined,
    },
  })
}

/**
 * The multi-round QA tool's files, written as the run goes: `realtime_stats_qps_X.XX.txt` (a line per
 * finished request), `performance_summary_qps_X.XX.txt` (a block every log interval), the `--output` CSV
 * (a row per scheduled send, in schedule order, written as soon as every earlier send has settled), and at
 * the end `final_performance_summary_qps_X.XX.txt`. Files are opened on the first event, so a run refused
 * before it starts leaves none.
 */
export class QaFiles {
  private readonly dir: string | undefined
  private readonly csvPath: string | undefined
  private readonly qps: number
  private realtime: AppendFile | undefined
  private periodic: AppendFile | undefined
  private csv: AppendFile | undefined
  /** Rows of sends that settled before an earlier one, by schedule index, until that one settles. */
  private readonly waiting = new Map<number, string>()
  private nextRow = 0

  constructor(dir: string | undefined, csvPath: string | undefined, qps: number) {
    this.dir = dir
    this.csvPath = csvPath
    this.qps = qps
  }

  /** Every file the run writes. */
  paths(): string[] {
    const names = qaFileNames(this.qps)
    return [...(this.csvPath ? [this.csvPath] : []), ...(this.dir ? [names.realtime, names.periodic, names.final].map((n) => join(this.dir as string, n)) : [])]
  }

  /** The schedule started: the files are created (the realtime file with its header). */
  open(): void {
    if (this.realtime || this.csv) return
    const names = qaFileNames(this.qps)
    if (this.dir) {
      this.realtime = new AppendFile(join(this.dir, names.realtime))
      this.periodic = new AppendFile(join(this.dir, names.periodic))
      this.realtime.write(realtimeHeader(this.qps))
    }
    if (this.csvPath) {
      mkdirSync(dirname(this.csvPath), { recursive: true })
      this.csv = new AppendFile(this.csvPath)
      this.csv.write(QA_CSV_COLUMNS.join(',') + '\n')
    }
  }

  /** A scheduled send settled: answered (`record`) or dropped. */
  settled(send: ScheduledSend, record: RequestRecord | undefined): void {
    this.open()
    if (record) this.realtime?.write(realtimeLine(record, send))
    if (!this.csv) return
    this.waiting.set(send.index, qaCsvRow(send, record))
    for (let row = this.waiting.get(this.nextRow); row !== undefined; row = this.waiting.get(this.nextRow)) {
      this.csv.write(row + '\n')
      this.waiting.delete(this.nextRow++)
    }
  }

  /** A periodic summary: appended to its file; returns the text. */
  interval(snapshot: { elapsedS: number; round: RoundResult; openLoop: OpenLoopSummary }): string {
    this.open()
    const text = qaSummaryText({ title: `Performance summary at ${new Date().toISOString()}`, ...snapshot })
    this.periodic?.write(text + '\n')
    return text
  }

  /** The run ended: the rows still waiting (in schedule order) and the final summary are written, the files closed. */
  finish(run: MultiRoundQaResult): string {
    this.open()
    for (const index of [...this.waiting.keys()].sort((a, b) => a - b)) this.csv?.write(this.waiting.get(index) + '\n')
    this.waiting.clear()
    const text = qaFinalSummary(run)
    if (this.dir) writeFileSync(join(this.dir, qaFileNames(this.qps).final), text)
    this.realtime?.close()
    this.periodic?.close()
    this.csv?.close()
    return text
  }
}
