import { SLO_METRICS } from './metrics.ts'
import type { SloCheck } from './spec.ts'

/**
 * A plain-text table of SLO checks, one line each: round, metric, statistic, observed, limit and the
 * result — `pass`, or `FAIL` with how far off it is (`+112 ms, +14%`) or the reason it has no value.
 * Values carry the metric's unit; rates are also shown as percentages. Returns `(no SLO checks)` for
 * an empty list. No colours, no trailing spaces.
 */
export function formatSloTable(checks: readonly SloCheck[]): string {
  if (checks.length === 0) return '(no SLO checks)'
  const header = ['round', 'metric', 'statistic', 'observed', 'limit', 'result']
  const rows = checks.map((c) => {
    const unit = unitOf(c)
    return [c.label, c.perRequestKey ? `${c.metric} (${c.perRequestKey})` : c.metric, c.statistic, c.observed === null ? 'n/a' : withUnit(c.observed, unit, c), `${c.op} ${withUnit(c.limit, unit, c)}`, result(c, unit)]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const line = (cells: string[]): string => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

function result(c: SloCheck, unit: string): string {
  if (c.pass) return c.reason ? `pass (${c.reason})` : 'pass'
  if (c.observed === null) return `FAIL (${c.reason ?? 'no value'})`
  const diff = c.observed - c.limit
  const sign = diff >= 0 ? '+' : '-'
  const relative = c.limit !== 0 ? `, ${sign}${formatNumber(Math.abs((diff / c.limit) * 100))}%` : ''
  const amount = c.statistic === 'rate' ? formatNumber(Math.abs(diff)) : withUnit(Math.abs(diff), unit, c)
  const by = diff === 0 ? 'equal to the limit' : `${sign}${amount}${relative}`
  return `FAIL (${by}${c.reason ? `; ${c.reason}` : ''})`
}

function unitOf(c: SloCheck): string {
  return c.statistic === 'count' ? '' : SLO_METRICS[c.metric].unit
}

function withUnit(value: number, unit: string, c: SloCheck): string {
  if (c.statistic === 'rate') return `${formatNumber(value)} (${formatNumber(value * 100)}%)`
  return unit ? `${formatNumber(value)} ${unit}` : formatNumber(value)
}

/** Integers as-is; otherwise 1 decimal from 100, 2 from 1, else 3 significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  if (Number.isInteger(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 100) return value.toFixed(1)
  if (abs >= 1) return value.toFixed(2)
  return String(Number(value.toPrecision(3)))
}
