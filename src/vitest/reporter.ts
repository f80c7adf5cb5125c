import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Reporter, TestCase, Vitest } from 'vitest/node'
import { metricsSummaryCsv } from '../report/index.ts'
import type { RunResult } from '../types.ts'
import type { FluxperfTaskMeta } from './augment.ts'
import { reportPathFor } from './reportPath.ts'

interface Row {
  test: string
  workload: string
  round: string
  ttftP50: number | undefined
  tpotAvg: number | undefined
  rps: number
  errors: number
  verdict: string
  file: string
}

/**
 * Writes each test's RunResults (JSON, and the Python tools' CSV) into `outputDir` and prints a summary table at
 * the end of the run. Added by the plugin in `configureVitest`, so it survives `--reporter=...`.
 */
export class FluxperfReporter implements Reporter {
  private readonly outputDir: string
  private vitest: Vitest | undefined
  private rows: Row[] = []

  constructor(options: { outputDir: string }) {
    this.outputDir = options.outputDir
  }

  onInit(vitest: Vitest): void {
    this.vitest = vitest
  }

  onTestRunStart(): void {
    this.rows = []
  }

  onTestCaseResult(testCase: TestCase): void {
    const meta = testCase.meta() as { fluxperf?: FluxperfTaskMeta }
    const runs = meta.fluxperf?.runs ?? []
    const verdict = testCase.result().state
    runs.forEach((run: RunResult, i) => {
      // The worker chose the path (and quoted it in failure messages); fall back for runs attached by hand.
      const json = run.outputDir?.endsWith('.json') ? run.outputDir : reportPathFor(this.outputDir, testCase.fullName, i)
      mkdirSync(dirname(json), { recursive: true })
      writeFileSync(json, JSON.stringify({ ...run, outputDir: json }, null, 2) + '\n')
      writeFileSync(json.replace(/\.json$/, '.csv'), metricsSummaryCsv(run))
      for (const round of run.rounds) {
        this.rows.push({
          test: testCase.fullName,
          workload: run.workload,
          round: round.label,
          ttftP50: round.metrics.ttft?.p50,
          tpotAvg: round.metrics.tpot?.avg,
          rps: round.throughput.requestsPerS,
          errors: round.failed,
          verdict,
          file: json,
        })
      }
    })
  }

  onTestRunEnd(): void {
    if (this.rows.length === 0) return
    const head = ['test', 'workload', 'round', 'TTFT p50 ms', 'TPOT avg ms', 'req/s', 'errors', 'verdict']
    const body = this.rows.map((r) => [r.test.slice(0, 50), r.workload, r.round, fmt(r.ttftP50), fmt(r.tpotAvg), fmt(r.rps), String(r.errors), r.verdict === 'passed' ? 'pass' : r.verdict.toUpperCase()])
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)))
    const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ')
    const files = [...new Set(this.rows.map((r) => r.file))]
    const text = ['', 'fluxperf summary', line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), `reports: ${files.join(', ')}`, ''].join('\n')
    if (this.vitest) this.vitest.logger.log(text)
    else process.stdout.write(text + '\n')
  }
}

function fmt(v: number | undefined): string {
  return v === undefined ? '—' : v.toFixed(2)
}
