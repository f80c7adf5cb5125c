import { InputError } from '../errors.ts'
import type { CapacityResult, CapacityStep } from '../types.ts'

/** Whether a sweep shows a load sustained, and what shows it. */
export interface SustainVerdict {
  /** The sweep's capacity is at least the load. */
  sustained: boolean
  /** The sweep can say either way: it was not interrupted, its client kept up, and it measured at or beyond the load (or failed below it). */
  valid: boolean
  /** Why it cannot say, when it cannot. */
  reason?: string
  /** The step that decides it: the passing step at or above the load, or the lowest failing step. */
  deciding?: CapacityStep
  /** The load asked about, in the sweep's unit. */
  load: number
  unit: string
}

/**
 * Judges `load` (requests/s for a rate sweep, requests in flight for a concurrency sweep) against a sweep:
 * sustained when a step at that load or above met the SLO (the capacity is at least it). A sweep that was
 * interrupted, whose client saturated below the load, or that never reached it cannot say, and is `valid: false`.
 * @param dimension what the caller named (`qps` or `concurrency`); a sweep over the other one is an InputError
 */
export function sustains(capacity: CapacityResult, load: number, dimension: 'rate' | 'concurrency' | 'own', where: string): SustainVerdict {
  if (!capacity || capacity.kind !== 'capacity' || !Array.isArray(capacity.steps)) throw new TypeError(`${where}: expected a fluxperf CapacityResult (from sweep() or a saved capacity.json)`)
  if (typeof load !== 'number' || !(load > 0) || !Number.isFinite(load)) throw new InputError(`the load must be a number > 0, got ${JSON.stringify(load)}`, where)
  if (dimension !== 'own' && dimension !== capacity.over) {
    throw new InputError(`the sweep was over ${capacity.over}, so ask for { ${capacity.over === 'rate' ? 'qps' : 'concurrency'}: … }`, where)
  }
  const unit = capacity.over === 'rate' ? 'requests/s' : 'requests in flight'
  const measured = capacity.steps.filter((s) => s.phase !== 'probe')
  const passedAt = measured.filter((s) => s.pass && s.load >= load).sort((a, b) => a.load - b.load)[0]
  const failedAt = measured.filter((s) => !s.pass && !s.clientSaturated && s.ended !== 'interrupted').sort((a, b) => a.load - b.load)[0]
  if (capacity.capacity !== null && capacity.capacity >= load && passedAt) return { sustained: true, valid: true, deciding: passedAt, load, unit }
  // Between the highest pass and the lowest fail, the answer is the capacity only when the search narrowed the
  // bracket to its resolution; a search cut short (max-steps, interrupted) never tested such a load.
  if (capacity.capacity !== null && capacity.failedAt !== null && load > capacity.capacity && load < capacity.failedAt && capacity.stopReason !== 'bracketed') {
    return { sustained: false, valid: false, reason: `the search ended (${capacity.stopReason}) between ${capacity.capacity} and ${capacity.failedAt} ${unit}, before it could tell`, load, unit }
  }
  if (failedAt && failedAt.load <= Math.max(load, capacity.failedAt ?? 0) && (capacity.capacity ?? 0) < load) {
    if (capacity.interrupted && failedAt.load > load) return { sustained: false, valid: false, reason: 'the sweep was interrupted before it reached this load', load, unit }
    return { sustained: false, valid: true, deciding: failedAt, load, unit }
  }
  const reason = capacity.interrupted ? 'the sweep was interrupted before it reached this load'
    : capacity.stopReason === 'client-saturated' ? 'the client saturated before the sweep reached this load: what it measured is the client, not the server'
    : `the sweep never reached this load (its highest pass was ${capacity.capacity ?? 'none'}, and it ended: ${capacity.stopReason})`
  return { sustained: false, valid: false, reason, load, unit }
}
