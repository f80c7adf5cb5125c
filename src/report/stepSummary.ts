import { appendFileSync } from 'node:fs'
import { evaluateSlo, parseSlo } from '../slo/index.ts'
import type { RunResult } from '../types.ts'

/** One run in a CI job summary: its name, result, and verdict as the command or the test decided it. */
export interface SummarizedRun {
  name: string
  run: RunResult
  /** `PASSED`, `FAILED: 2 requests failed`, `SLO MISSED`, ... */
  verdict: string
  /** Failure messages to quote (a failed matcher's first lines: a regression, a missed SLO). */
  failures?: string[]
}

const ms = (v: number | undefined, count: number | undefined): string => (v === undefined || !count ? 'n/a' : v.toFixed(1))

/**
 * The Markdown a CI job summary shows (GitHub's `GITHUB_STEP_SUMMARY`): per run the verdict, the key
 * statistics of each round, the SLO checks that failed, and the failures quoted.
 */
export function stepSummaryMarkdown(title: string, runs: readonly SummarizedRun[]): string {
  const lines = [`## ${title}`, '']
  for (const { name, run, verdict, failures } of runs) {
    const ok = verdict.startsWith('PASS')
    lines.push(`### ${ok ? '✅' : '❌'} ${escape(name)}: ${escape(verdict)}`, '')
    lines.push(`${run.workload} · model \`${escape(run.model)}\` · ${run.startedAt}`, '')
    lines.push('| round | requests | failed | TTFT p50 ms | TTFT p90 ms | TPOT avg ms | latency p90 ms | req/s |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for (const r of run.rounds) {
      const ttft = r.metrics.ttft
      const none = r.succeeded === 0
      lines.push(`| ${r.label} | ${r.total} | ${r.failed} | ${ms(ttft?.p50, ttft?.count)} | ${ms(ttft?.p90, ttft?.count)} | ${ms(r.metrics.tpot?.avg, r.metrics.tpot?.count)} | ${ms(r.metrics.latency?.p90, r.metrics.latency?.count)} | ${none ? 'n/a' : r.throughput.requestsPerS.toFixed(2)} |`)
    }
    lines.push('')
    const missed = run.slo ? evaluateSlo(run, parseSlo(run.slo, 'run.json slo')).filter((c) => !c.pass) : []
    if (missed.length > 0) {
      lines.push('SLO checks missed:', '', '| round | metric | statistic | observed | limit |', '| --- | --- | --- | ---: | --- |')
      for (const c of missed) lines.push(`| ${c.label} | ${c.metric} | ${c.statistic} | ${c.observed === null ? `n/a${c.reason ? ` (${escape(c.reason)})` : ''}` : c.observed.toFixed(2)} | ${c.op} ${c.limit} |`)
      lines.push('')
    }
    for (const failure of failures ?? []) lines.push('```', failure.trim(), '```', '')
  }
  return `${lines.join('\n')}\n`
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ')
}

/**
 * Appends `markdown` to the file `GITHUB_STEP_SUMMARY` names, when it is set; returns whether it wrote. A
 * summary that cannot be written costs one warning line, never the run.
 */
export function appendStepSummary(markdown: string, env: NodeJS.ProcessEnv = process.env, warn: (message: string) => void = (m) => process.stderr.write(`fluxperf: warning: ${m}\n`)): boolean {
  const file = env['GITHUB_STEP_SUMMARY']
  if (!file) return false
  try {
    appendFileSync(file, markdown)
    return true
  } catch (error) {
    warn(`could not append the job summary to GITHUB_STEP_SUMMARY=${file} (${(error as Error).message})`)
    return false
  }
}
