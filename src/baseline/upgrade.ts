import type { ClientSummary, RunResult } from '../types.ts'

/** What a RunResult of schema 1 (fluxperf 0.1) had where schema 2 differs. */
interface RunResultV1 {
  schemaVersion: 1
  workload: RunResult['workload']
  clientSaturated?: boolean
  eventLoopDelayP99Ms?: number
  config?: Record<string, unknown>
  [key: string]: unknown
}

/** The saturation bound and delay-monitor resolution fluxperf 0.1 used. */
const V1_CLIENT = { boundMs: 50, resolutionMs: 10 }

/**
 * A RunResult of either schema as schema 2, or undefined when `doc` is not a RunResult: stored baselines
 * and saved `run.json` files written by fluxperf 0.1 keep working with the matchers and `toNotRegress`.
 * Schema 1 kept the client's health in two top-level fields and had optional workload sections; what it
 * never recorded (the delay maximum, the precision mode) is filled in as fluxperf 0.1 ran: p99 for the
 * maximum, precision `off` with nothing changed.
 */
export function upgradeRunResult(doc: unknown): RunResult | undefined {
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { rounds?: unknown }).rounds)) return undefined
  const version = (doc as { schemaVersion?: unknown }).schemaVersion
  if (version === 2) return doc as RunResult
  if (version !== 1) return undefined
  const { clientSaturated, eventLoopDelayP99Ms, ...rest } = doc as RunResultV1
  const p99 = typeof eventLoopDelayP99Ms === 'number' ? eventLoopDelayP99Ms : 0
  const client: ClientSummary = {
    eventLoopDelayP99Ms: p99, eventLoopDelayMaxMs: p99, ...V1_CLIENT, saturated: clientSaturated === true,
    precision: { mode: 'off', active: false, changes: [], refused: [] }, warmupRequests: 0,
  }
  const upgraded = { ...rest, schemaVersion: 2, client } as Record<string, unknown>
  if (rest.workload === 'multi-turn') {
    upgraded['byTurn'] ??= []
    upgraded['byDocumentType'] ??= []
    upgraded['conversations'] ??= { planned: 0, started: 0, completed: 0, endedByContextLimit: 0 }
  }
  if (rest.workload === 'multi-round-qa') upgraded['byTurn'] ??= []
  return upgraded as unknown as RunResult
}
