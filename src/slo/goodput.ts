import type { RequestRecord } from '../types.ts'
import type { PerRequestSlo, SloSpec } from './spec.ts'

/**
 * The goodput rule (the Python tools'): a request counts only if it succeeded and every given per-request
 * limit holds with a strict `<`: `ttftMs < ttft_ms`, `tpotMs < itl_ms|tpot_ms`, `latencyMs < latency_ms`.
 * Limits not given are not checked (`{}` accepts every successful request). Missing values:
 * - TTFT null (no content chunk arrived) fails a TTFT limit: the user never saw a first token.
 * - TPOT null (fewer than 2 output tokens) passes a TPOT limit: there was no inter-token time to be slow.
 */
export function meetsRequestSlo(record: RequestRecord, perRequest: PerRequestSlo): boolean {
  if (!record.ok) return false
  if (perRequest.ttftMs !== undefined && (record.ttftMs === null || !(record.ttftMs < perRequest.ttftMs))) return false
  if (perRequest.tpotMs !== undefined && record.tpotMs !== null && !(record.tpotMs < perRequest.tpotMs)) return false
  if (perRequest.latencyMs !== undefined && !(record.latencyMs < perRequest.latencyMs)) return false
  return true
}

/**
 * The goodput predicate for a spec (to pass to `summariseRound`), or undefined when the spec has no
 * per-request limits — then the run has no goodput, and goodput terms fail with a reason.
 */
export function goodputPredicate(spec: Pick<SloSpec, 'perRequest'>): ((record: RequestRecord) => boolean) | undefined {
  const limits = spec.perRequest
  if (limits.ttftMs === undefined && limits.tpotMs === undefined && limits.latencyMs === undefined) return undefined
  return (record) => meetsRequestSlo(record, limits)
}
