import { SLO_METRICS } from './metrics.ts'
import type { SloAggregation, SloMetric, SloOp, SloTerm } from './spec.ts'

const AGGREGATIONS: readonly SloAggregation[] = ['avg', 'min', 'max', 'med', 'p', 'rate', 'value', 'count', 'stddev']
const OPS: readonly SloOp[] = ['<=', '>=', '==', '<', '>']
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/
const SHAPE = /^([A-Za-z_]\w*)\s*(\(([^)]*)\))?\s*(.*)$/

/**
 * Parses one k6-style threshold expression for `metric`:
 * `<aggregation> <op> <number>`, aggregation `avg|min|max|med|count|stddev|rate|value|p(N)` with
 * 0 < N ≤ 100 (decimals allowed, `p(99.9)`), op `<|<=|>|>=|==` (`===` is read as `==`).
 * Whitespace is optional (`p(95)<500`). Rates (`errorRate`, `goodput`) need a limit in [0, 1].
 * @returns the term, or a message saying what is wrong and what is accepted.
 */
export function parseExpression(text: string, metric: SloMetric): SloTerm | string {
  const expression = text.trim()
  const shape = SHAPE.exec(expression)
  if (!shape) return malformed(expression, metric)
  const name = (shape[1] as string).toLowerCase()
  const args = shape[3]
  const rest = (shape[4] as string).trim()

  if (!(AGGREGATIONS as readonly string[]).includes(name)) {
    const p = /^p(\d+(?:\.\d+)?)$/.exec(name)
    const hint = p ? ` (did you mean p(${p[1]})?)` : ''
    return `unknown aggregation "${shape[1]}"${hint} in "${expression}"; ${accepted(metric)}`
  }
  const aggregation = name as SloAggregation
  let percentile: number | undefined
  if (aggregation === 'p') {
    if (args === undefined) return `"p" needs a percentile, p(N), in "${expression}"; ${accepted(metric)}`
    const n = args.trim()
    if (!NUMBER.test(n)) return `bad percentile "p(${args})" in "${expression}": N must be a number with 0 < N <= 100, e.g. p(95) or p(99.9)`
    percentile = Number(n)
    if (!(percentile > 0 && percentile <= 100)) return `bad percentile "p(${args})" in "${expression}": N must be a number with 0 < N <= 100, e.g. p(95) or p(99.9)`
  } else if (args !== undefined) {
    return `"${name}" takes no argument in "${expression}"; ${accepted(metric)}`
  }
  if (!SLO_METRICS[metric].aggregations.includes(aggregation)) {
    return `aggregation "${aggregation === 'p' ? 'p(N)' : aggregation}" does not apply to ${metric} in "${expression}"; ${accepted(metric)}`
  }

  const normalised = rest.startsWith('===') ? `==${rest.slice(3)}` : rest
  const op = OPS.find((o) => normalised.startsWith(o))
  if (!op) {
    const shown = rest === '' ? 'nothing' : `"${rest}"`
    return `expected an operator (<, <=, >, >=, ==) after "${shape[1]}${shape[2] ?? ''}", found ${shown}, in "${expression}"; ${accepted(metric)}`
  }
  const limitText = normalised.slice(op.length).trim()
  const extra = /^[<>=!]+/.exec(limitText)
  if (extra) return `unknown operator "${op}${extra[0]}" in "${expression}"; expected one of <, <=, >, >=, ==`
  if (!NUMBER.test(limitText)) {
    const unit = SLO_METRICS[metric].unit
    const hint = /^[\d.]+\s*[A-Za-z/%]+$/.test(limitText) ? ` (write the number without a unit${unit ? `; ${metric} is in ${unit}` : ''})` : ''
    return `expected a number after "${op}", found ${limitText === '' ? 'nothing' : `"${limitText}"`}${hint}, in "${expression}"; ${accepted(metric)}`
  }
  const limit = Number(limitText)
  if (aggregation === 'rate' && (limit < 0 || limit > 1)) {
    return `${metric} rate is a share between 0 and 1, got ${limitText} in "${expression}" (write 0.01 for 1%)`
  }
  const term: SloTerm = { metric, aggregation, op, limit, expression }
  if (percentile !== undefined) term.percentile = percentile
  return term
}

/** The statistic shown for a term: `p(90)`, `avg`, ... */
export function statisticOf(term: Pick<SloTerm, 'aggregation' | 'percentile'>): string {
  return term.aggregation === 'p' ? `p(${term.percentile})` : term.aggregation
}

function malformed(expression: string, metric: SloMetric): string {
  return `malformed threshold "${expression}"; ${accepted(metric)}`
}

/** What `metric` accepts, with an example. */
export function accepted(metric: SloMetric): string {
  const aggs = SLO_METRICS[metric].aggregations
  if (aggs.includes('rate')) return `${metric} accepts "rate <op> <share 0-1>", e.g. "rate < 0.01"`
  if (aggs.includes('value')) return `${metric} accepts "value <op> <number>", e.g. "value > 100"`
  return `${metric} accepts "<aggregation> <op> <number>" with aggregation avg, min, max, med, count, stddev or p(N) (0 < N <= 100) and op <, <=, >, >=, ==, e.g. "p(95) < 500"`
}
