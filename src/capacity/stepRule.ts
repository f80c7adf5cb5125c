import { METRIC_NAMES, PER_TOKEN_METRICS, percentileOfEncoded } from '../metrics/index.ts'
import { evaluateSlo, perRequestTerms } from '../slo/index.ts'
import type { SloCheck, SloSpec, SloTerm } from '../slo/index.ts'
import { histogramScale } from '../slo/metrics.ts'
import type { MetricName, RoundResult, RunResult } from '../types.ts'

/**
 * When a sweep step has measured enough: a minimum number of requests, and for every SLO term a confidence
 * interval on its statistic that is either narrower than `ciWidth` (relative to the value) or lies wholly on
 * one side of the limit (the step's pass or fail is then known at that confidence). Why and how the
 * intervals are computed: docs/design/capacity.md.
 */
export interface StepRule {
  /** Requests a step completes at least. @default 50 */
  minRequests: number
  /** Widest interval accepted, as (high − low) / value. @default 0.2 */
  ciWidth: number
  /** Confidence of the intervals. @default 0.95 */
  confidence: number
}

/** A term's statistic with its confidence interval; low/high null where the statistic has none (max, min, throughput). */
export interface TermInterval {
  expression: string
  metric: string
  statistic: string
  value: number | null
  low: number | null
  high: number | null
  /** (high − low) / value; null without an interval. */
  width: number | null
  /** The interval lies wholly on one side of the limit. */
  decided: boolean
  pass: boolean
}

/** Where a step stands against its rule. */
export interface StepStanding {
  /** The rule is met: the step may end. */
  done: boolean
  /** Why it is (or is not) done, in words. */
  why: string
  checks: SloCheck[]
  intervals: TermInterval[]
  /** Every check passed. */
  pass: boolean
}

/**
 * The standing of a step's round against the SLO and the rule. `run` only supplies the round to
 * evaluateSlo (which reads nothing else of it).
 */
export function stepStanding(round: RoundResult, spec: SloSpec, rule: StepRule): StepStanding {
  const checks = evaluateSlo({ rounds: [round] } as RunResult, spec)
  const terms = [...perRequestTerms(spec.perRequest, spec.source), ...spec.terms]
  const intervals = terms.map((term, i) => intervalOf(round, term, checks[i] as SloCheck, rule.confidence))
  const pass = checks.every((c) => c.pass)
  if (round.total < rule.minRequests) return { done: false, why: `${round.total} of at least ${rule.minRequests} requests`, checks, intervals, pass }
  const open = intervals.filter((t) => t.low !== null && !t.decided && !((t.width as number) <= rule.ciWidth))
  if (open.length > 0) {
    const t = open[0] as TermInterval
    const why = t.high === Infinity || t.low === -Infinity
      ? `${t.metric} ${t.statistic}: too few samples yet to bound it on both sides at ${Math.round(rule.confidence * 100)} % (a p(99) needs about ${samplesForTail(0.99, rule.confidence)})`
      : `${t.metric} ${t.statistic} interval ±${(((t.width ?? Infinity) / 2) * 100).toFixed(0)} %, wider than ±${((rule.ciWidth / 2) * 100).toFixed(0)} %, and not decided`
    return { done: false, why, checks, intervals, pass }
  }
  const decided = intervals.some((t) => t.decided && t.width !== null && t.width > rule.ciWidth)
  return { done: true, why: decided ? 'every interval narrow or decided' : 'every interval narrow', checks, intervals, pass }
}

/** Samples needed before the largest one bounds the q-quantile from above at this (two-sided) confidence. */
export function samplesForTail(q: number, confidence: number): number {
  return Math.ceil(Math.log((1 - confidence) / 2) / Math.log(q))
}

/** The standard normal quantile for a two-sided confidence (Acklam's rational approximation, |error| < 1.2e-9). */
export function zOf(confidence: number): number {
  const p = 1 - (1 - confidence) / 2
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239]
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1]
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416]
  const q = Math.sqrt(-2 * Math.log(1 - p))
  if (p > 0.97575) return -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
  const r = p - 0.5
  const s = r * r
  return ((((((a[0]! * s + a[1]!) * s + a[2]!) * s + a[3]!) * s + a[4]!) * s + a[5]!) * r) / (((((b[0]! * s + b[1]!) * s + b[2]!) * s + b[3]!) * s + b[4]!) * s + 1)
}

/** Rates (error rate, goodput) count as narrow at `ciWidth` 0.2 when their interval spans at most this share (5 points); scaled with ciWidth. */
export const RATE_WIDTH = 0.05

/** Metrics sampled per token, not per request. */
const PER_TOKEN: ReadonlySet<string> = PER_TOKEN_METRICS

const DISTRIBUTIONS: ReadonlySet<string> = new Set(METRIC_NAMES)

/**
 * The interval of one term's statistic:
 * - a percentile (p(N), med): distribution-free, from the order statistics n·q ± z·√(n·q·(1−q)) read off the
 *   round's histogram (no assumption on the shape of the latency distribution);
 * - a mean: ± z·σ/√n;
 * - a rate (errorRate, goodput): Wilson's score interval;
 * - anything else (max, min, count, throughput): none; the step then rests on its request count.
 */
function intervalOf(round: RoundResult, term: SloTerm, check: SloCheck, confidence: number): TermInterval {
  const base = { expression: term.expression, metric: term.metric, statistic: check.statistic, value: check.observed, pass: check.pass }
  const none: TermInterval = { ...base, low: null, high: null, width: null, decided: false }
  if (check.observed === null) return none
  const z = zOf(confidence)
  let low: number
  let high: number
  if (DISTRIBUTIONS.has(term.metric) && (term.aggregation === 'p' || term.aggregation === 'med' || term.aggregation === 'avg')) {
    const metric = term.metric as MetricName
    const summary = round.metrics[metric]
    const encoded = round.histograms[metric]
    if (!summary || summary.count === 0) return none
    const n = summary.count
    if (term.aggregation === 'avg') {
      const half = (z * summary.stddev) / Math.sqrt(n)
      ;[low, high] = [summary.avg - half, summary.avg + half]
    } else {
      if (!encoded) return none
      const q = term.aggregation === 'med' ? 0.5 : (term.percentile ?? 100) / 100
      if (q >= 1) return none
      // Gaps between tokens of one request (and of one batch) move together: per-token metrics get as much
      // confidence as they have requests, not tokens.
      const nEff = PER_TOKEN.has(metric) ? Math.min(n, round.succeeded) : n
      const delta = z * Math.sqrt((q * (1 - q)) / nEff)
      const at = (share: number): number => Math.min(summary.max, Math.max(summary.min, percentileOfEncoded(encoded, 100 * share, histogramScale(metric))))
      const oneSided = 1 - (1 - confidence) / 2
      // Past the extremes the sample min / max bound the quantile only once P(every sample on one side) is small enough
      // (for the max, qⁿ: about 368 samples for a p(99) at 95 %); before that the bound is unknown, and no interval is narrow.
      low = q - delta > 1 / nEff ? at(q - delta) : 1 - (1 - q) ** nEff >= oneSided ? summary.min : -Infinity
      high = q + delta < 1 - 1 / nEff ? at(q + delta) : 1 - q ** nEff >= oneSided ? summary.max : Infinity
    }
  } else if (term.metric === 'errorRate' || term.metric === 'goodput') {
    const n = round.total
    if (n === 0) return none
    const p = check.observed
    const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n)
    const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))
    ;[low, high] = [Math.max(0, centre - half), Math.min(1, centre + half)]
  } else {
    return none
  }
  const value = check.observed
  const rate = term.metric === 'errorRate' || term.metric === 'goodput'
  // A share near 0 has no useful relative width: its interval is judged in share points against RATE_WIDTH.
  const width = rate ? ((high - low) * 0.2) / RATE_WIDTH : value > 0 ? (high - low) / value : high - low === 0 ? 0 : Infinity
  const below = term.op === '<' || term.op === '<='
  const holds = (v: number): boolean => (term.op === '<' ? v < term.limit : term.op === '<=' ? v <= term.limit : term.op === '>' ? v > term.limit : term.op === '>=' ? v >= term.limit : v === term.limit)
  // Pass is decided when even the worse end of the interval passes; fail when even the better end fails.
  const worse = below ? high : low
  const better = below ? low : high
  const decided = term.op !== '==' && (holds(worse) || !holds(better))
  return { ...base, low, high, width, decided }
}
