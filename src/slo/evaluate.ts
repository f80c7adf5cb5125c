import type { RoundResult, RunResult, Slo } from '../types.ts'
import { statisticOf } from './expression.ts'
import { observe } from './observe.ts'
import { PER_REQUEST_KEYS } from './parse.ts'
import type { PerRequestSlo, SloCheck, SloOp, SloSpec, SloTerm } from './spec.ts'

/** Which rounds {@link evaluateSlo} checks; every given field must match. Default: every round. */
export interface SloSelect {
  concurrency?: number
  round?: number
}

/**
 * Checks every term of `spec` against every selected round of `run` (default: all rounds), one
 * {@link SloCheck} per term per round, grouped by round in run order.
 *
 * - The Python-tool-shape per-request limits (`ttft_ms`, `itl_ms`/`tpot_ms`, `latency_ms`) define goodput
 *   and are also reported here as `max < limit` on `ttft`, `tpot` and `latency`: every successful
 *   request of the round must be under the limit (failed requests have no timings; bound them with
 *   `errorRate`). They come first, then the threshold terms in the order given.
 * - A term whose metric the round lacks (no summary, no samples, no requests, or `goodput` when the
 *   run was measured without a per-request SLO) fails with a `reason`; nothing passes silently.
 *   Exception: the `max < itl_ms` check passes with a note when successful requests exist but none
 *   had 2+ output tokens, matching the goodput rule (no inter-token time, nothing to be slow).
 * - Goodput values are those the run computed, against the per-request SLO given to the run.
 * - When no round matches `select`, every term yields one failing check labelled `(no rounds)`.
 */
export function evaluateSlo(run: RunResult, spec: SloSpec, select: SloSelect = {}): SloCheck[] {
  const terms = [...perRequestTerms(spec.perRequest, spec.source), ...spec.terms]
  const rounds = run.rounds.filter(
    (r) => (select.concurrency === undefined || r.concurrency === select.concurrency) && (select.round === undefined || r.round === select.round),
  )
  if (rounds.length === 0) {
    const wanted = [select.concurrency !== undefined ? `concurrency ${select.concurrency}` : '', select.round !== undefined ? `round ${select.round}` : '']
      .filter(Boolean)
      .join(', ')
    const reason = run.rounds.length === 0 ? 'the run has no rounds' : `no round matches ${wanted}`
    return terms.map((term) => ({ ...base('(no rounds)', term), observed: null, pass: false, reason }))
  }
  return rounds.flatMap((round) => terms.map((term) => check(round, term)))
}

/** The per-request limits as `max < limit` terms (see {@link evaluateSlo}). */
export function perRequestTerms(perRequest: PerRequestSlo, source?: Slo): SloTerm[] {
  const terms: SloTerm[] = []
  const add = (metric: SloTerm['metric'], limit: number | undefined, key: string): void => {
    if (limit !== undefined) terms.push({ metric, aggregation: 'max', op: '<', limit, expression: `max < ${limit} (${key})`, perRequestKey: key })
  }
  // Labelled with the key as the SLO spelt it (`ttft_ms` or `ttftMs`).
  const keyOf = (field: keyof PerRequestSlo, fallback: string): string => Object.keys(source ?? {}).find((k) => PER_REQUEST_KEYS[k] === field) ?? fallback
  add('ttft', perRequest.ttftMs, keyOf('ttftMs', 'ttft_ms'))
  add('tpot', perRequest.tpotMs, keyOf('tpotMs', 'itl_ms'))
  add('latency', perRequest.latencyMs, keyOf('latencyMs', 'latency_ms'))
  return terms
}

function check(round: RoundResult, term: SloTerm): SloCheck {
  const seen = observe(round, term)
  if (seen.value === null) {
    if (term.perRequestKey && term.metric === 'tpot' && round.succeeded > 0 && round.metrics.tpot?.count === 0) {
      return { ...base(round.label, term), observed: null, pass: true, reason: 'no request had 2+ output tokens, so no TPOT; passes as in goodput' }
    }
    return { ...base(round.label, term), observed: null, pass: false, reason: seen.reason }
  }
  return { ...base(round.label, term), observed: seen.value, pass: compare(seen.value, term.op, term.limit) }
}

function base(label: string, term: SloTerm): Omit<SloCheck, 'observed' | 'pass'> {
  const check: Omit<SloCheck, 'observed' | 'pass'> = { label, metric: term.metric, statistic: statisticOf(term), op: term.op, limit: term.limit, expression: term.expression }
  if (term.perRequestKey) check.perRequestKey = term.perRequestKey
  return check
}

/** `observed op limit`. */
export function compare(observed: number, op: SloOp, limit: number): boolean {
  switch (op) {
    case '<': return observed < limit
    case '<=': return observed <= limit
    case '>': return observed > limit
    case '>=': return observed >= limit
    case '==': return observed === limit
  }
}
