import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Reporter, TestCase, Vitest } from 'vitest/node'
import { printable } from '../printable.ts'
import { writeHtmlReport } from '../report/html/index.ts'
import type { ReportInput } from '../report/html/index.ts'
import { appendStepSummary, metricsSummaryCsv, stepSummaryMarkdown } from '../report/index.ts'
import type { SummarizedRun } from '../report/index.ts'
import type { RoundResult, RunResult } from '../types.ts'
import type { FluxperfTaskMeta } from './augment.ts'
import { reportPathFor } from './reportPath.ts'

interface Row {
  test: string
  workload: string
  round: string
  ttftP50: number | undefined
  tpotAvg: number | undefined
  rps: number | undefined
  errors: number
  verdict: string
  /** Why the timing columns are n/a (no successful request), else undefined. */
  note: string | undefined
  file: string
}

/**
 * Writes each test's RunResults (JSON, and the Python tools' CSV) into `outputDir` and prints a summary table at
 * the end of the run. Added by the plugin in `configureVitest`, so it survives `--reporter=...`.
 */
export class FluxperfReporter implements Reporter {
  private readonly outputDir: string
  private readonly report: boolean
  private vitest: Vitest | undefined
  private rows: Row[] = []
  private notices: string[] = []
  private runs: ReportInput[] = []
  private summaries: SummarizedRun[] = []

  /** @param options.report write `<outputDir>/report.html`, every test's runs overlaid (default true) */
  constructor(options: { outputDir: string; report?: boolean }) {
    this.outputDir = options.outputDir
    this.report = options.report ?? true
  }

  onInit(vitest: Vitest): void {
    this.vitest = vitest
  }

  onTestRunStart(): void {
    this.rows = []
    this.notices = []
    this.runs = []
    this.summaries = []
  }

  onTestCaseResult(testCase: TestCase): void {
    const meta = testCase.meta() as { fluxperf?: FluxperfTaskMeta }
    const runs = meta.fluxperf?.runs ?? []
    // What passing matchers had to say (a baseline written): their messages are never shown.
    for (const notice of meta.fluxperf?.notices ?? []) this.notices.push(notice)
    const result = testCase.result()
    const verdict = result.state
    // A failed matcher's message (a regression, a missed SLO) is what the CI job summary quotes.
    const failures = (result.errors ?? []).map((e) => printable(e.message ?? '').split('\n').slice(0, 20).join('\n'))
    runs.forEach((run: RunResult, i) => {
      const name = runs.length > 1 ? `${testCase.fullName} #${i + 1}` : testCase.fullName
      this.runs.push({ name, run })
      this.summaries.push({ name, run, verdict: verdict === 'passed' ? 'PASSED' : verdict.toUpperCase(), ...(i === 0 && failures.length > 0 ? { failures } : {}) })
      // The worker chose the path (and quoted it in failure messages); fall back for runs attached by hand.
      const json = run.outputDir?.endsWith('.json') ? run.outputDir : reportPathFor(this.outputDir, testCase.fullName, i)
      mkdirSync(dirname(json), { recursive: true })
      writeFileSync(json, JSON.stringify({ ...run, outputDir: json }, null, 2) + '\n')
      writeFileSync(json.replace(/\.json$/, '.csv'), metricsSummaryCsv(run))
      for (const round of run.rounds) {
        const none = round.succeeded === 0
        this.rows.push({
          test: testCase.fullName,
          workload: run.workload,
          round: round.label,
          ttftP50: none || !round.metrics.ttft?.count ? undefined : round.metrics.ttft.p50,
          tpotAvg: none || !round.metrics.tpot?.count ? undefined : round.metrics.tpot.avg,
          rps: none ? undefined : round.throughput.requestsPerS,
          errors: round.failed,
          verdict,
          note: none ? noSuccessNote(round) : undefined,
          file: json,
        })
      }
    })
  }

  async onTestRunEnd(): Promise<void> {
    if (this.rows.length === 0 && this.notices.length === 0) return
    const html = this.runs.length > 0 && this.report ? await this.writeReport() : undefined
    if (this.summaries.length > 0) appendStepSummary(stepSummaryMarkdown('fluxperf (Vitest)', this.summaries), process.env, (m) => this.notices.push(`fluxperf: warning: ${m}`))
    const lines = ['']
    if (this.rows.length > 0) {
      // A notes column only when a round has no successful request: its timings are n/a, and it says why.
      const notes = this.rows.some((r) => r.note !== undefined)
      const head = ['test', 'workload', 'round', 'TTFT p50 ms', 'TPOT avg ms', 'req/s', 'errors', 'verdict', ...(notes ? ['notes'] : [])]
      const body = this.rows.map((r) => [r.test.slice(0, 50), r.workload, r.round, fmt(r.ttftP50), fmt(r.tpotAvg), fmt(r.rps), String(r.errors), r.verdict === 'passed' ? 'pass' : r.verdict.toUpperCase(),
        ...(notes ? [r.note ?? ''] : [])])
      const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)))
      const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()
      const files = [...new Set(this.rows.map((r) => r.file))]
      lines.push('fluxperf summary', line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), `reports: ${files.join(', ')}`)
      if (html) lines.push(`HTML report: ${html}`)
    }
    lines.push(...this.notices, '')
    const text = lines.join('\n')
    if (this.vitest) this.vitest.logger.log(text)
    else process.stdout.write(text + '\n')
  }

  /** Every test's runs in one HTML report; a report that cannot be written costs a notice, not the test run. */
  private async writeReport(): Promise<string | undefined> {
    const file = join(this.outputDir, 'report.html')
    try {
      await writeHtmlReport(this.runs, file)
      return file
    } catch (error) {
      this.notices.push(`fluxperf: could not write ${file} (${(error as Error).message})`)
      return undefined
    }
  }
}

/** Timings are n/a: there is no successful request to time. */
function fmt(v: number | undefined): string {
  return v === undefined ? 'n/a' : v.toFixed(2)
}

/**
 * Why a round's timings are n/a: `all 12 failed: connection refused (connect ECONNREFUSED 127.0.0.1:1)`, with
 * other kinds counted after it (`; timeout ×2`), or `no requests were sent`.
 */
function noSuccessNote(round: RoundResult): string {
  if (round.total === 0) return 'no requests were sent'
  const [top, ...others] = [...round.errors].sort((a, b) => b.count - a.count)
  const all = round.failed === round.total ? `all ${round.total} failed` : `none of ${round.total} succeeded (${round.failed} failed)`
  if (!top) return all
  const first = printable(top.firstMessage).replace(/\s+/g, ' ').trim()
  const detail = first ? ` (${first.length > 80 ? `${first.slice(0, 79)}…` : first})` : ''
  const kind = (k: string): string => k.replace(/_/g, ' ')
  const rest = others.map((e) => `; ${kind(e.kind)} ×${e.count}`).join('')
  return `${all}: ${kind(top.kind)}${others.length > 0 ? ` ×${top.count}` : ''}${detail}${rest}`
}
