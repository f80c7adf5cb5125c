import { InputError } from '../errors.ts'
import { SETTLE_LATENCIES } from '../metrics/index.ts'
import { parseSlo } from '../slo/index.ts'
import type { SloSpec } from '../slo/index.ts'
import type { CapacityCheck, CapacityResult, CapacityStep, Slo, TrafficResult } from '../types.ts'
import { VERSION } from '../version.ts'
import { hostSettings, runTraffic } from '../workloads/index.ts'
import type { TrafficOptions } from '../workloads/index.ts'
import { stepStanding } from './stepRule.ts'
import type { StepRule, StepStanding } from './stepRule.ts'

/** What each sweep step sends: the traffic workload's options without the load, which the sweep sets. */
export type SweepWorkload = Omit<TrafficOptions, 'rate' | 'stages' | 'trace' | 'concurrency' | 'duration' | 'requests' | 'endWhen' | 'timeScale' | 'traceBlockSize' | 'endpoint'> & { endpoint?: string }

/** A capacity sweep: which load to vary, the SLO to meet, the search and step rules. */
export interface SweepOptions extends Partial<StepRule> {
  /** Vary the open-loop request rate (requests/s) or the closed-loop concurrency. @default 'rate' */
  over?: 'rate' | 'concurrency'
  /** The SLO every step is judged by: the same shape as `toMeetSlo` and `--slo-file` (or a parsed spec). */
  slo: Slo | SloSpec
  /** What each step sends (prompts, lengths, endpoint settings). */
  workload?: SweepWorkload
  /** First load tried. @default rate: from a probe of one request at a time (1 / its median latency); concurrency: 1 */
  start?: number
  /** Highest load tried: a sweep that passes here stops and says capacity is at least this. @default rate 10,000/s; concurrency 4,096 */
  max?: number
  /** Geometric step while no load has failed (up) or none has passed (down). @default 2 */
  factor?: number
  /** Bisection stops when the failing load is within this share above the passing one (concurrency: or 1 apart). @default 0.05 */
  resolution?: number
  /** Longest step, seconds: a step whose rule is not met by then ends anyway, and says so. @default 60 */
  maxStepDuration?: number
  /**
   * Shortest step, seconds, unless over-saturated sooner: a queue that grows slowly (a load a few per cent over
   * capacity) needs time to show in TTFT, and a step that ends as soon as its intervals are narrow would pass it. @default 10
   */
  minStepDuration?: number
  /** Most steps, probe included. @default 16 */
  maxSteps?: number
  /**
   * Largest share of failed requests a step may have and pass (0–1). Failed requests have no timings, so a server
   * shedding load with quick errors would pass latency terms: @default 0, unless the SLO has an `errorRate` term
   */
  maxErrorRate?: number
  /** Stops the sweep: the step under way ends, and the result is marked interrupted. */
  signal?: AbortSignal
  hooks?: {
    /** A step is starting. */
    onStepStart?(info: { step: number; phase: CapacityStep['phase']; load: number; over: 'rate' | 'concurrency' }): void
    /** A step ended, with its full RunResult (for its own reports). */
    onStep?(step: CapacityStep, run: TrafficResult): void | Promise<void>
    onNotice?(message: string): void
  }
}

export const SWEEP_DEFAULTS = {
  over: 'rate' as const,
  minRequests: 50,
  ciWidth: 0.2,
  confidence: 0.95,
  factor: 2,
  resolution: 0.05,
  maxStepDuration: 60,
  minStepDuration: 10,
  maxSteps: 16,
  maxRate: 10_000,
  maxConcurrency: 4096,
}

/**
 * Finds the highest load that meets an SLO. Steps go up geometrically (× `factor`) from `start` until one
 * fails (or down until one passes), then bisect between the highest pass and the lowest fail until they are
 * within `resolution`. Each step sends traffic at its load until its rule is met: at least `minRequests`
 * requests and a confidence interval on every SLO statistic narrower than `ciWidth` or wholly on one side of
 * its limit; it ends early when over-saturated (TTFT from the intended send growing without bound, or sends
 * behind the rate), which fails it. A step where the client itself was saturated ends the sweep: what it
 * measured is the client. Design: docs/design/capacity.md.
 *
 * The endpoint is, in order: `workload.endpoint`, the Vitest plugin's (its built-in mock), `FLUXPERF_ENDPOINT`.
 *
 * @example
 * const capacity = await sweep({ slo: { ttft: 'p(99) < 500' }, workload: { inputTokens: 128, maxOutputTokens: 32 } })
 * expect(capacity).toSustain({ qps: 20 })
 */
export async function sweep(options: SweepOptions): Promise<CapacityResult> {
  const plan = planOf(options)
  const workload = options.workload ?? {}
  const host = hostSettings({ ...workload, hooks: { onNotice: options.hooks?.onNotice } }, 'sweep')
  const base: TrafficOptions = { ...host, ...workload, endpoint: host.endpoint, resetCacheUrl: host.resetCacheUrl }
  if (base.shard !== undefined && base.shard.count > 1) throw new InputError('a sweep decides each step from what it measured, so it cannot be sharded (FLUXPERF_SHARD or shard); shard a fixed load with traffic()', 'sweep')
  if (plan.spec.perRequest && Object.keys(plan.spec.perRequest).length > 0) base.goodputSlo = plan.spec.perRequest
  const seed = base.seed ?? Math.floor(Math.random() * 2 ** 31)
  base.seed = seed
  const startedAt = new Date()
  const steps: CapacityStep[] = []
  let model = base.model ?? ''
  let config: Record<string, unknown> = {}
  const signal = options.signal
  let interrupted = false

  const step = async (phase: CapacityStep['phase'], load: number): Promise<CapacityStep> => {
    const index = steps.length + 1
    options.hooks?.onStepStart?.({ step: index, phase, load, over: phase === 'probe' ? 'concurrency' : plan.over })
    let standing: StepStanding | undefined
    /** The live verdict that ended the step, when over-saturation did (judged with the requests still waiting). */
    let liveSaturation: TrafficResult['saturation']
    const rule = plan.rule
    // The arrival process is the rate steps'; the probe and concurrency steps are closed loops.
    const loadOptions: Partial<TrafficOptions> = phase === 'probe'
      ? { concurrency: 1, requests: plan.probeRequests, arrival: undefined, burstiness: undefined }
      : plan.over === 'rate' ? { rate: load, duration: plan.maxStepDuration } : { concurrency: load, duration: plan.maxStepDuration }
    const run = await runTraffic({
      ...base,
      ...loadOptions,
      // Each step its own prompts: a server's prefix cache must not answer a step from the one before (a real
      // server is not emptied between steps unless a reset is configured).
      seed: seed + index,
      // The probe is one stream at a time: one worker (the steps use every worker of `--workers`).
      ...(phase === 'probe' && (base.workers ?? 1) > 1 ? { workers: 1 } : {}),
      signal,
      hooks: { ...base.hooks, onNotice: options.hooks?.onNotice ?? base.hooks?.onNotice },
      endWhen: phase === 'probe' ? undefined : (snapshot) => {
        if (snapshot.saturation.saturated) {
          liveSaturation = snapshot.saturation
          return true
        }
        // A full connection pool limits the load on the client's side: what follows would measure the client.
        if (snapshot.connectionWaits > 0) return true
        standing = stepStanding(snapshot.round, plan.spec, rule)
        // Long enough for the in-flight trend to be read: over the second half, once SETTLE_LATENCIES median latencies in.
        const settle = (2 * SETTLE_LATENCIES * (snapshot.round.metrics.latency?.p50 ?? 0)) / 1000 + 1
        return standing.done && snapshot.elapsedS >= Math.max(plan.minStepDuration, Math.min(settle, plan.maxStepDuration))
      },
    }, { slo: plan.spec.source })
    model = run.model
    config = run.config
    const round = run.rounds[0] as TrafficResult['rounds'][number]
    const final = stepStanding(round, plan.spec, { ...rule, minRequests: phase === 'probe' ? 1 : rule.minRequests })
    // Requests still queued when the step stopped count at their age in the live verdict; once answered they may
    // no longer show the growth, so the verdict that stopped the step is the one kept.
    const saturation = liveSaturation ?? run.saturation
    const saturated = saturation?.saturated === true
    const poolFull = run.schedule.connectionWaits > 0
    const clientLimited = run.client.saturated || poolFull
    // Failed requests have no timings, so the latency terms saw only the successes: a server shedding load with
    // quick errors would pass them. Any failure fails the step unless the SLO bounds errorRate or maxErrorRate allows it.
    const failedShare = round.total > 0 ? round.failed / round.total : 0
    const errorsOk = round.failed === 0 || (plan.errorRateTerm ? true : failedShare <= plan.maxErrorRate)
    const interruptedNow = run.interrupted
    if (interruptedNow) interrupted = true
    const ended: CapacityStep['ended'] = interruptedNow ? 'interrupted' : saturated ? 'saturated' : run.schedule.endedBy === 'endWhen' || phase === 'probe' ? 'rule' : 'max-duration'
    const checks: CapacityCheck[] = final.checks.map((c, i) => ({
      expression: c.expression, metric: c.metric, statistic: c.statistic, observed: c.observed, op: c.op, limit: c.limit, pass: c.pass,
      ...(c.reason ? { reason: c.reason } : {}), low: final.intervals[i]?.low ?? null, high: final.intervals[i]?.high ?? null,
    }))
    const result: CapacityStep = {
      step: index,
      phase,
      load,
      pass: final.pass && !saturated && !clientLimited && errorsOk && (phase === 'probe' || round.succeeded > 0),
      ended,
      why: phase === 'probe' ? `one request at a time: median latency ${(round.metrics.latency?.p50 ?? 0).toFixed(1)} ms`
        : poolFull ? `${run.schedule.connectionWaits} requests waited for a connection: the pool (--max-concurrency ${String(run.config['maxConcurrency'] ?? '')}) limited the load, not the server; raise it`
        : !errorsOk ? `${round.failed} of ${round.total} requests failed (${round.errors[0]?.kind ?? 'error'}: ${(round.errors[0]?.firstMessage ?? '').slice(0, 80)}); failed requests have no timings, so none are allowed unless the SLO bounds errorRate or maxErrorRate allows them`
        : saturated ? (saturation?.reasons.join('; ') ?? 'saturated') : ended === 'max-duration' ? `the longest step (${plan.maxStepDuration} s) ended before the rule was met: ${final.why}` : (standing?.why ?? final.why),
      achievedRate: run.openLoop?.achievedRate ?? round.throughput.requestsPerS,
      durationS: run.schedule.elapsedS,
      checks,
      ...(saturation ? { saturation } : {}),
      clientSaturated: clientLimited,
      round,
    }
    steps.push(result)
    await options.hooks?.onStep?.(result, run)
    return result
  }

  let lo: number | null = null
  let hi: number | null = null
  let stopReason: CapacityResult['stopReason'] = 'bracketed'
  const budgetLeft = (): boolean => steps.length < plan.maxSteps
  const stopped = (s: CapacityStep): CapacityResult['stopReason'] | undefined => (s.ended === 'interrupted' ? 'interrupted' : s.clientSaturated ? 'client-saturated' : undefined)
  let start = plan.start
  search: {
    if (signal?.aborted) { stopReason = 'interrupted'; break search }
    if (start === undefined) {
      const probe = await step('probe', 1)
      const why = stopped(probe)
      if (why) { stopReason = why; break search }
      const latencyMs = probe.round.metrics.latency?.p50
      if (!latencyMs || probe.round.succeeded === 0) {
        stopReason = 'no-pass'
        break search
      }
      start = roundLoad(Math.min(plan.max, Math.max(0.01, 1000 / latencyMs)), plan.over)
    }
    const floor = plan.over === 'concurrency' ? 1 : start / 2 ** 10
    let load = start
    // Up while passing; down while failing.
    for (;;) {
      if (!budgetLeft()) { stopReason = 'max-steps'; break search }
      if (signal?.aborted) { stopReason = 'interrupted'; break search }
      const s = await step(lo === null && hi !== null ? 'down' : 'up', load)
      const why = stopped(s)
      if (why) { stopReason = why; break search }
      if (s.pass) {
        lo = load
        if (hi !== null) break
        if (load >= plan.max) { stopReason = 'max-load'; break search }
        // Always up: rounding (whole requests in flight, 3 digits) must not repeat a load.
        const up = roundLoad(load * plan.factor, plan.over)
        load = Math.min(plan.max, up > load ? up : plan.over === 'concurrency' ? load + 1 : load * plan.factor)
      } else {
        hi = load
        if (lo !== null) break
        const lower = roundLoad(load / plan.factor, plan.over)
        if (lower >= load || lower < floor) { stopReason = 'no-pass'; break search }
        load = lower
      }
    }
    while (lo !== null && hi !== null && !closeEnough(lo, hi, plan)) {
      if (!budgetLeft()) { stopReason = 'max-steps'; break search }
      if (signal?.aborted) { stopReason = 'interrupted'; break search }
      let mid = roundLoad((lo + hi) / 2, plan.over)
      if (mid <= lo || mid >= hi) mid = (lo + hi) / 2
      if (mid <= lo || mid >= hi) break
      const s = await step('bisect', mid)
      const why = stopped(s)
      if (why) { stopReason = why; break search }
      if (s.pass) lo = mid
      else hi = mid
    }
  }
  const unit = plan.over === 'rate' ? 'requests/s' : 'requests in flight'
  const fmt = (n: number): string => (plan.over === 'rate' ? n.toFixed(2) : String(n))
  const summary = lo === null
    ? `no load tried met the SLO${hi !== null ? ` (the lowest tried, ${fmt(hi)} ${unit}, failed)` : ''}`
    : stopReason === 'max-load' ? `capacity is at least ${fmt(lo)} ${unit}: every load up to the highest allowed met the SLO`
    : hi === null ? `capacity is at least ${fmt(lo)} ${unit} (the search ended: ${stopReason})`
    : `capacity ${fmt(lo)} ${unit}: ${fmt(lo)} met the SLO and ${fmt(hi)} did not${stopReason === 'bracketed' ? '' : ` (the search ended early: ${stopReason})`}`
  return {
    kind: 'capacity',
    schemaVersion: 1,
    tool: { name: 'fluxperf', version: VERSION },
    over: plan.over,
    endpoint: base.endpoint,
    model,
    seed,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    slo: plan.spec.source,
    settings: {
      minRequests: plan.rule.minRequests, ciWidth: plan.rule.ciWidth, confidence: plan.rule.confidence, maxStepDuration: plan.maxStepDuration, minStepDuration: plan.minStepDuration,
      factor: plan.factor, resolution: plan.resolution, start: start ?? 0, max: plan.max, maxSteps: plan.maxSteps,
    },
    config,
    capacity: lo,
    failedAt: hi,
    stopReason: lo === null && stopReason === 'bracketed' ? 'no-pass' : stopReason,
    summary,
    interrupted: interrupted || signal?.aborted === true,
    steps,
  }
}

interface SweepPlan {
  over: 'rate' | 'concurrency'
  spec: SloSpec
  rule: StepRule
  start: number | undefined
  max: number
  factor: number
  resolution: number
  maxStepDuration: number
  minStepDuration: number
  maxSteps: number
  probeRequests: number
  /** The SLO bounds errorRate itself: failed requests are its business. */
  errorRateTerm: boolean
  maxErrorRate: number
}

function planOf(options: SweepOptions): SweepPlan {
  if (typeof options !== 'object' || options === null) throw new InputError('expected an options object', 'sweep')
  const known = new Set(['over', 'slo', 'workload', 'start', 'max', 'factor', 'resolution', 'maxStepDuration', 'minStepDuration', 'maxSteps', 'maxErrorRate', 'signal', 'hooks', 'minRequests', 'ciWidth', 'confidence'])
  const unknown = Object.keys(options).find((k) => !known.has(k))
  if (unknown) throw new InputError(`unknown option "${unknown}" (expected ${[...known].join(', ')})`, 'sweep')
  const d = SWEEP_DEFAULTS
  const over = options.over ?? d.over
  if (over !== 'rate' && over !== 'concurrency') throw new InputError(`expected rate or concurrency, got ${JSON.stringify(over)}`, '--over')
  if (options.slo === undefined) throw new InputError('an SLO is required: the capacity is the highest load that meets it (--slo-file, or { slo: { ttft: \'p(99) < 500\' } })', '--slo-file')
  const spec = isSpec(options.slo) ? options.slo : parseSlo(options.slo, 'sweep: slo')
  if (over === 'concurrency' && (options.workload?.arrival !== undefined || options.workload?.burstiness !== undefined)) {
    throw new InputError('applies to rate sweeps (a concurrency sweep\'s steps are closed loops)', options.workload?.arrival !== undefined ? '--arrival' : '--burstiness')
  }
  const number = (value: number | undefined, fallback: number, flag: string, check: (n: number) => boolean, expected: string): number => {
    const n = value ?? fallback
    if (typeof n !== 'number' || !Number.isFinite(n) || !check(n)) throw new InputError(`expected ${expected}, got ${JSON.stringify(value)}`, flag)
    return n
  }
  const minRequests = number(options.minRequests, d.minRequests, '--min-requests', (n) => Number.isInteger(n) && n >= 1, 'a whole number ≥ 1')
  const ciWidth = number(options.ciWidth, d.ciWidth, '--ci-width', (n) => n > 0, 'a number > 0 (e.g. 0.2 for ±10 %)')
  const confidence = number(options.confidence, d.confidence, '--confidence', (n) => n > 0 && n < 1, 'a number between 0 and 1 (e.g. 0.95)')
  const factor = number(options.factor, d.factor, '--factor', (n) => n > 1, 'a number > 1')
  const resolution = number(options.resolution, d.resolution, '--resolution', (n) => n > 0, 'a number > 0 (e.g. 0.05)')
  const maxStepDuration = number(options.maxStepDuration, d.maxStepDuration, '--max-step-duration', (n) => n > 0, 'seconds > 0')
  const minStepDuration = number(options.minStepDuration, Math.min(d.minStepDuration, maxStepDuration), '--min-step-duration', (n) => n >= 0 && n <= maxStepDuration, `seconds ≥ 0 and at most --max-step-duration (${maxStepDuration})`)
  const maxSteps = number(options.maxSteps, d.maxSteps, '--max-steps', (n) => Number.isInteger(n) && n >= 2, 'a whole number ≥ 2')
  const whole = over === 'concurrency'
  const max = number(options.max, whole ? d.maxConcurrency : d.maxRate, '--max', (n) => n > 0 && (!whole || Number.isInteger(n)), whole ? 'a whole number ≥ 1' : 'a number > 0')
  const start = options.start === undefined ? (whole ? 1 : undefined) : number(options.start, 0, '--start', (n) => n > 0 && n <= max && (!whole || Number.isInteger(n)), `${whole ? 'a whole number' : 'a number'} > 0 and at most --max (${max})`)
  const maxErrorRate = number(options.maxErrorRate, 0, '--max-error-rate', (n) => n >= 0 && n <= 1, 'a share between 0 and 1')
  const errorRateTerm = spec.terms.some((t) => t.metric === 'errorRate')
  return { over, spec, rule: { minRequests, ciWidth, confidence }, start, max, errorRateTerm, maxErrorRate, factor, resolution, maxStepDuration, minStepDuration, maxSteps, probeRequests: Math.max(5, Math.min(20, minRequests)) }
}

function isSpec(slo: Slo | SloSpec): slo is SloSpec {
  return typeof slo === 'object' && slo !== null && 'terms' in slo && 'perRequest' in slo && 'source' in slo && Array.isArray((slo as SloSpec).terms)
}

/** Loads are kept to 3 significant digits (rates) or whole numbers (concurrency), so step labels read well. */
function roundLoad(n: number, over: 'rate' | 'concurrency'): number {
  if (over === 'concurrency') return Math.max(1, Math.round(n))
  const digits = Math.max(0, 2 - Math.floor(Math.log10(n)))
  return Number(n.toFixed(Math.min(digits, 6)))
}

function closeEnough(lo: number, hi: number, plan: SweepPlan): boolean {
  if (plan.over === 'concurrency' && hi - lo <= 1) return true
  return hi / lo - 1 <= plan.resolution
}
