import type { RunComparison, RunComparisonRow } from '../baseline/index.ts'

/** How `fluxperf compare` prints a comparison. */
export type ComparisonFormat = 'table' | 'markdown' | 'json'

/** Names of the two sides, as the user gave them. */
export interface ComparedRuns {
  base: string
  new: string
}

const HEAD = ['round', 'metric', 'stat', 'base', 'new', 'change', 'interval (new/base)', 'verdict'] as const

function num(v: number | null, digits = 2): string {
  return v === null ? 'n/a' : v.toFixed(digits)
}

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`
}

function cells(row: RunComparisonRow): string[] {
  const interval = row.low === null || row.high === null ? 'n/a' : `[${num(row.low, 3)}, ${num(row.high, 3)}]`
  const verdict = row.verdict === 'missing' && row.note ? `missing: ${row.note}` : row.verdict
  return [row.round, row.metric, row.stat, num(row.base), num(row.new), pct(row.change), interval, verdict]
}

/** One line: how many statistics regressed, improved, stayed within noise, and could not be compared. */
export function comparisonCounts(comparison: RunComparison): string {
  const count = (v: RunComparisonRow['verdict']): number => comparison.rows.filter((r) => r.verdict === v).length
  const parts = [`${count('regressed')} regressed`, `${count('improved')} improved`, `${count('within noise')} within noise`]
  if (count('missing') > 0) parts.push(`${count('missing')} missing`)
  return `${parts.join(', ')} (of ${comparison.rows.length}; tolerance ${Number((comparison.tolerance * 100).toFixed(2))}%)`
}

/**
 * The comparison as an aligned text table, a GitHub Markdown table or JSON. Every format names the settings in
 * which the runs differ first: timings of two configurations compare something else than the server.
 */
export function formatComparison(comparison: RunComparison, runs: ComparedRuns, format: ComparisonFormat): string {
  if (format === 'json') return `${JSON.stringify({ base: runs.base, new: runs.new, ...comparison }, null, 2)}\n`
  const rows = comparison.rows.map(cells)
  const differ = comparison.configDifferences.length > 0 ? `The runs differ in configuration: ${comparison.configDifferences.join('; ')}` : undefined
  if (format === 'markdown') {
    const escape = (c: string): string => c.replace(/\|/g, '\\|')
    return [
      `### fluxperf compare: \`${runs.new}\` against \`${runs.base}\``,
      '',
      ...(differ ? [`> **Warning**: ${differ}`, ''] : []),
      `| ${HEAD.join(' | ')} |`,
      `| ${HEAD.map((_, i) => (i >= 3 && i <= 6 ? '---:' : '---')).join(' | ')} |`,
      ...rows.map((r) => `| ${r.map((c, i) => (i === 7 && c === 'regressed' ? '**regressed**' : escape(c))).join(' | ')} |`),
      '',
      comparisonCounts(comparison),
      '',
    ].join('\n')
  }
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const line = (c: readonly string[]): string => c.map((v, i) => (i >= 3 && i <= 5 ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number))).join('  ').trimEnd()
  return [
    `base: ${runs.base}`,
    `new:  ${runs.new}`,
    ...(differ ? [`WARNING: ${differ}`] : []),
    '',
    line(HEAD),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    comparisonCounts(comparison),
    '',
  ].join('\n')
}
