import { existsSync } from 'node:fs'
import { baselineAction, compareWithBaseline, configDifferences, formatConfigDifferences, readBaseline, upgradeRunResult, writeBaseline } from '../baseline/index.ts'
import type { RegressionCheck, RegressionOptions } from '../baseline/index.ts'
// The verdict alone, not capacity/index.ts: that brings the sweep and the client (undici), which must not load before the plugin's Node version guard.
import { sustains } from '../capacity/sustain.ts'
import type { SustainVerdict } from '../capacity/sustain.ts'
import { closest, rejectUnknownKeys } from '../didYouMean.ts'
import { InputError } from '../errors.ts'
import { assessCacheSpeedup, METRIC_NAMES, suspectsSentence } from '../metrics/index.ts'
import type { SpeedupAssessment } from '../metrics/index.ts'
import { printable } from '../printable.ts'
import { formatCapacity, stepVerdict } from '../report/index.ts'
import { evaluateSlo, formatSloTable, parseSlo } from '../slo/index.ts'
import type { SloCheck, SloSpec } from '../slo/index.ts'
import type { CapacityResult, MetricName, RoundResult, RunResult, Slo, StatName } from '../types.ts'

/** Which rounds a matcher looks at. @default every round of the run */
export interface RoundSelector {
  concurrency?: number
  round?: number
}

/** Options of `toMeetSlo`. */
export interface MeetSloOptions extends RoundSelector {
  /**
   * Accept a run whose client was saturated (event-loop delay past the bound), whose timings are
   * therefore not trustworthy. @default false
   */
  allowSaturatedClient?: boolean
  /**
   * Largest share of failed requests a selected round may have (0–1). Failed requests have no timings,
   * so the SLO terms only see the successes: without this option or an `errorRate` term in the SLO,
   * any failed request fails the matcher. @default 0, unless the SLO has an `errorRate` term
   */
  maxErrorRate?: number
}

/** Options of `toHaveCacheSpeedup`. */
export interface CacheSpeedupExpectation {
  /** @default 'ttft' */
  metric?: MetricName
  /** avg, p50, p90, p95, p99, min, max. @default 'p50' */
  stat?: Exclude<StatName, 'count' | 'stddev'>
  /** Smallest acceptable cold / warm ratio. */
  atLeast: number
  /** Only this concurrency level. */
  concurrency?: number
  /**
   * Accept a cold round that nothing shows to be cold: no cache reset succeeded before it and the server
   * reported no cached-token counts. A cold round the server reports as over 50 % cached always fails.
   * @default false
   */
  allowUnverifiedColdRound?: boolean
}

const MEET_SLO_OPTIONS: readonly (keyof MeetSloOptions)[] = ['concurrency', 'round', 'allowSaturatedClient', 'maxErrorRate']
const SPEEDUP_OPTIONS: readonly (keyof CacheSpeedupExpectation)[] = ['metric', 'stat', 'atLeast', 'concurrency', 'allowUnverifiedColdRound']
const METRICS = METRIC_NAMES
const REGRESSION_OPTIONS: readonly (keyof RegressionOptions)[] = ['tolerance', 'metrics', 'stats', 'confidence', 'resamples', 'allowConfigChange']

/**
 * Matcher options are checked at run time (Vitest strips types without checking them): an unknown key,
 * or a required limit that is missing or not a number, is an InputError naming the nearest valid key.
 */
function checkOptions(matcher: string, options: unknown, accepted: readonly string[], required?: string): void {
  if (options === undefined && !required) return
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InputError(`expected an options object${required ? ` such as { ${required}: 2 }` : ''}, got ${options === null ? 'null' : Array.isArray(options) ? 'a list' : typeof options}`, matcher)
  }
  rejectUnknownKeys(options, accepted, 'option', matcher)
  const values = options as Record<string, unknown>
  if (required && (typeof values[required] !== 'number' || !Number.isFinite(values[required]))) {
    throw new InputError(`${required} must be a number, got ${JSON.stringify(values[required]) ?? 'nothing'}`, matcher)
  }
  for (const key of ['maxErrorRate'] as const) {
    const v = values[key]
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0 && v <= 1))) throw new InputError(`${key} must be a share between 0 and 1, got ${JSON.stringify(v)}`, matcher)
  }
  const metric = values['metric']
  if (metric !== undefined && !METRICS.includes(metric as MetricName)) {
    const near = closest(String(metric), METRICS)
    throw new InputError(`unknown metric "${String(metric)}"${near ? ` (did you mean "${near}"?)` : `; expected ${METRICS.join(', ')}`}`, matcher)
  }
}

interface MatcherResult {
  pass: boolean
  message: () => string
  actual?: unknown
  expected?: unknown
}

interface MatcherContext {
  isNot: boolean
  /** The running test (Vitest's MatcherState); its meta carries notices to the fluxperf reporter. */
  task?: { meta: object }
}

/** Where a passing matcher's notice goes: the running test's meta (the fluxperf reporter prints it), or the console. */
let noticesToReporter = false

/**
 * Called by the plugin's setup file: notices go into each test's meta, and the fluxperf reporter prints
 * them at the end of the run. Without the plugin (`expect.extend(matchers)` by hand) they go to the console.
 */
export function sendNoticesToReporter(): void {
  noticesToReporter = true
}

/** Tells the user something a passing matcher cannot say in its (unshown) message: a baseline written, a change allowed. */
function notify(ctx: MatcherContext, message: string): void {
  const text = `fluxperf: ${printable(message)}`
  if (noticesToReporter && ctx.task) {
    // The shape of FluxperfTaskMeta (augment.ts, which imports this module's types).
    const meta = ctx.task.meta as { fluxperf?: { runs: RunResult[]; notices?: string[] } }
    meta.fluxperf ??= { runs: [] }
    ;(meta.fluxperf.notices ??= []).push(text)
  } else {
    console.warn(text)
  }
}

/** Failure messages are plain text: they end up in JSON reports, CI logs and files, where colour codes are noise. */
function plain(result: MatcherResult): MatcherResult {
  const message = result.message
  return { ...result, message: () => printable(message()) }
}

/** Rounds chosen by a selector; an empty choice is reported, never passed. */
function select(run: RunResult, selector: RoundSelector): RoundResult[] {
  return run.rounds.filter((r) => (selector.concurrency === undefined || r.concurrency === selector.concurrency) && (selector.round === undefined || r.round === selector.round))
}

function where(run: RunResult): string {
  return run.outputDir ? `\nReport: ${run.outputDir}` : ''
}

/** The RunResult a matcher received (a saved run.json of fluxperf 0.1 is read as schema 2). */
function runOf(received: unknown, name: string): RunResult {
  const run = upgradeRunResult(received)
  if (!run) throw new TypeError(`${name}: expected a fluxperf RunResult (from dualRound(), multiTurn() or a saved run.json), received ${typeof received}`)
  return run
}

/** The result of `toSustain` / `toHaveCapacity`: the deciding step's failed terms, then the whole sweep. */
function capacityResult(ctx: MatcherContext, name: string, expected: string, capacity: CapacityResult, verdict: SustainVerdict): MatcherResult {
  const pass = ctx.isNot ? !verdict.valid || verdict.sustained : verdict.sustained
  const load = `${verdict.load} ${verdict.unit}`
  return plain({
    pass,
    message: () => {
      const lines = [`expect(capacity)${ctx.isNot ? '.not' : ''}.${name}(${expected})`, '']
      const d = verdict.deciding
      if (!verdict.valid) lines.push(`The sweep cannot say whether ${load} is sustained: ${verdict.reason}.`)
      else if (verdict.sustained) lines.push(`Expected ${load} not to be sustained, but step ${d?.step} at ${d?.load} ${verdict.unit} met every SLO term (capacity: ${capacity.summary}).`)
      else {
        lines.push(`${load} is not sustained: ${capacity.summary}.`)
        if (d) {
          lines.push(`At ${d.load} ${verdict.unit} (step ${d.step}): ${stepVerdict(d)}`)
          for (const c of d.checks.filter((x) => !x.pass)) {
            lines.push(`  ${c.metric} ${c.expression}: observed ${c.observed === null ? `n/a (${c.reason})` : fmt(c.observed)}${c.low !== null && c.high !== null ? ` [${fmt(c.low)}, ${fmt(c.high)}]` : ''}`)
          }
          for (const r of d.saturation?.saturated ? d.saturation.reasons : []) lines.push(`  over-saturated: ${r}`)
        }
      }
      lines.push('', formatCapacity(capacity))
      return lines.join('\n')
    },
    actual: capacity.capacity,
    expected: `≥ ${verdict.load}`,
  })
}

/** `expect(run).not.toMeetSlo(slo)`, uncoloured (Vitest's `matcherHint` adds colour codes). */
function hint(ctx: MatcherContext, name: string, expected = 'expected'): string {
  return `expect(run)${ctx.isNot ? '.not' : ''}.${name}(${expected})`
}

function fmt(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : Number.isFinite(v) ? v.toFixed(digits) : String(v)
}

/** A plain-text table with a header row. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => '  ' + cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ')
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/**
 * The fluxperf matchers: synchronous, over a finished RunResult, each usable with `.not`.
 * Register with `expect.extend(matchers)` (the `fluxperf()` Vitest plugin does it for you).
 */
export const matchers = {
  /**
   * Every SLO term holds in every selected round. Terms: the Python tools' YAML shape (`ttft_ms: 1000`: every
   * request under 1000 ms) or k6-style expressions (`{ ttft: ['p(95) < 500'], errorRate: ['rate < 0.01'] }`).
   * A term naming a metric the run lacks fails. A saturated client fails unless `allowSaturatedClient`.
   */
  toMeetSlo(this: MatcherContext, received: unknown, slo: Slo, options: MeetSloOptions = {}): MatcherResult {
    const run = runOf(received, 'toMeetSlo')
    checkOptions('toMeetSlo', options, MEET_SLO_OPTIONS)
    const spec = parseSlo(slo, 'toMeetSlo')
    const rounds = select(run, options)
    const checks: SloCheck[] = rounds.length === 0 ? [] : evaluateSlo(run, spec, options)
    const failed = checks.filter((c) => !c.pass)
    const saturated = run.client.saturated && !options.allowSaturatedClient
    const noRounds = rounds.length === 0
    const errors = tooManyErrors(rounds, spec, options.maxErrorRate)
    const pass = !noRounds && !saturated && failed.length === 0 && errors.length === 0
    return plain({
      pass,
      message: () => {
        const lines = [hint(this, 'toMeetSlo', 'slo'), '']
        if (noRounds) lines.push(`No round matches ${JSON.stringify(options)}; the run has ${run.rounds.map((r) => r.label).join(', ') || 'no rounds'}.`)
        if (saturated) lines.push(`The measurement is not trustworthy: the client was saturated (event-loop delay p99 ${fmt(run.client.eventLoopDelayP99Ms, 1)} ms). Lower the load on this machine, or pass { allowSaturatedClient: true }.`)
        if (errors.length > 0) {
          const limit = options.maxErrorRate ?? 0
          lines.push(`Failed requests: ${errors.map((r) => `${r.failed} of ${r.total} in ${r.label} (${r.errors[0]?.kind ?? 'error'}: ${(r.errors[0]?.firstMessage ?? '').slice(0, 80)})`).join('; ')}. ` +
            `Failed requests have no timings, so the terms below saw only the successes; ${limit === 0 ? 'none are allowed' : `at most a share of ${limit} is allowed`}. ` +
            'Allow some with { maxErrorRate: 0.01 } or an SLO term such as errorRate: [\'rate < 0.01\'].')
        }
        lines.push(this.isNot ? 'Expected the run to miss its SLO, but every term held:' : `${failed.length} of ${checks.length} SLO checks failed:`)
        lines.push(formatSloTable(checks))
        return lines.join('\n') + where(run)
      },
      actual: Object.fromEntries(checks.map((c) => [`${c.label} ${c.metric} ${c.statistic}`, c.observed])),
      expected: Object.fromEntries(checks.map((c) => [`${c.label} ${c.metric} ${c.statistic}`, `${c.op} ${c.limit}`])),
    })
  },

  /**
   * Cold / warm ratio of a statistic is at least `atLeast` at every level: round 1 / round 2 (dual-round)
   * or first turn / later turns (multi-turn). The message shows the server's cached-token share where it
   * reports one, so a small ratio with a full cache hit can be told apart from a miss.
   *
   * The ratio counts only when the cold round was cold: it fails (with `.not` too) when the server
   * reported over 50 % of the cold round's prompt tokens as cached, when neither a successful cache
   * reset nor cached-token counts show it cold (unless `allowUnverifiedColdRound`), or when a round has
   * no successful request (the ratio is n/a). Failed cold requests are named: they may have warmed the cache.
   */
  toHaveCacheSpeedup(this: MatcherContext, received: unknown, expectation: CacheSpeedupExpectation): MatcherResult {
    const run = runOf(received, 'toHaveCacheSpeedup')
    checkOptions('toHaveCacheSpeedup', expectation, SPEEDUP_OPTIONS, 'atLeast')
    const metric = expectation.metric ?? 'ttft'
    const stat = expectation.stat ?? 'p50'
    const rows = assessCacheSpeedup(run, { ...expectation, metric, stat })
    const valid = rows.length > 0 && rows.every((r) => r.valid)
    const meets = valid && rows.every((r) => r.ok)
    // An untrustworthy measurement fails both ways: `.not` must not pass on it either.
    const pass = this.isNot ? !valid || meets : meets
    return plain({
      pass,
      message: () => {
        const head = ['level', `cold ${metric} ${stat}`, `warm ${metric} ${stat}`, 'ratio', 'limit', 'cached tokens (cold → warm)', 'cold round', 'result']
        const body = rows.map((r) => [String(r.concurrency), fmt(r.cold), fmt(r.warm), r.ratio === null ? 'n/a' : `${fmt(r.ratio)}x`, `≥ ${expectation.atLeast}x`,
          cachedCell(r), coldCell(r, expectation.allowUnverifiedColdRound ?? false), r.ok ? 'pass' : 'FAIL'])
        const intro = !valid
          ? this.isNot ? 'The cache speedup cannot be judged either way:' : 'The cache speedup cannot be trusted:'
          : this.isNot ? 'Expected no cache speedup, but:' : 'Cache speedup (cold / warm):'
        const lines = [hint(this, 'toHaveCacheSpeedup'), '', intro, rows.length ? table(head, body) : '  the run has no cold/warm pair to compare']
        for (const r of rows) lines.push(...speedupNotes(r))
        const hit = rows.find((r) => r.valid && !r.ok && r.coldRound?.warmShare !== null && (r.coldRound?.warmShare ?? 0) > 0.8)
        if (hit && !this.isNot) lines.push('', `The server reports ${fmt((hit.coldRound?.warmShare ?? 0) * 100, 1)}% of warm prompt tokens as cached: the cache is hit, but the speedup is small (on real engines long prompts are still tokenised before the cache is consulted).`)
        return lines.join('\n') + where(run)
      },
      actual: Object.fromEntries(rows.map((r) => [`concurrency ${r.concurrency}`, r.ratio])),
      expected: Object.fromEntries(rows.map((r) => [`concurrency ${r.concurrency}`, `≥ ${expectation.atLeast}`])),
    })
  },

  /** Goodput (share of requests meeting the per-request SLO) is at least `atLeast` in every selected round. */
  toHaveGoodput(this: MatcherContext, received: unknown, expectation: { atLeast: number } & RoundSelector): MatcherResult {
    const run = runOf(received, 'toHaveGoodput')
    checkOptions('toHaveGoodput', expectation, ['atLeast', 'concurrency', 'round'], 'atLeast')
    const rounds = select(run, expectation)
    const rows = rounds.map((r) => ({ label: r.label, share: r.goodput?.requestShare ?? null }))
    const pass = rows.length > 0 && rows.every((r) => r.share !== null && r.share >= expectation.atLeast)
    return plain({
      pass,
      message: () => [hint(this, 'toHaveGoodput'), '', table(['round', 'goodput', 'limit', 'result'], rows.map((r) => [r.label,
        r.share === null ? 'none (no per-request SLO given to the run)' : fmt(r.share, 4), `≥ ${expectation.atLeast}`, r.share !== null && r.share >= expectation.atLeast ? 'pass' : 'FAIL']))].join('\n') + where(run),
      actual: Object.fromEntries(rows.map((r) => [r.label, r.share])),
      expected: Object.fromEntries(rows.map((r) => [r.label, `≥ ${expectation.atLeast}`])),
    })
  },

  /**
   * The capacity sweep found this load sustainable: `{ qps: 20 }` on a sweep over rate, `{ concurrency: 64 }` on one
   * over concurrency. Passes when a step at that load or above met every SLO term. A sweep that cannot say (it was
   * interrupted, its client saturated, or it never reached the load) fails, with `.not` too.
   */
  toSustain(this: MatcherContext, received: unknown, load: { qps?: number; concurrency?: number }): MatcherResult {
    checkOptions('toSustain', load, ['qps', 'concurrency'])
    const given = Object.keys(load ?? {}).filter((k) => (load as Record<string, unknown>)[k] !== undefined)
    if (given.length !== 1) throw new InputError('give one load: { qps: 20 } or { concurrency: 64 }', 'toSustain')
    const dimension = given[0] === 'qps' ? 'rate' : 'concurrency'
    const verdict = sustains(received as CapacityResult, (load as Record<string, number>)[given[0] as string] as number, dimension, 'toSustain')
    return capacityResult(this, 'toSustain', JSON.stringify(load).replace(/"/g, ''), received as CapacityResult, verdict)
  },

  /** The sweep's capacity (in its own unit: requests/s or requests in flight) is at least `atLeast`. Same rules as `toSustain`. */
  toHaveCapacity(this: MatcherContext, received: unknown, expectation: { atLeast: number }): MatcherResult {
    checkOptions('toHaveCapacity', expectation, ['atLeast'], 'atLeast')
    const verdict = sustains(received as CapacityResult, expectation.atLeast, 'own', 'toHaveCapacity')
    return capacityResult(this, 'toHaveCapacity', `{ atLeast: ${expectation.atLeast} }`, received as CapacityResult, verdict)
  },

  /** The share of failed requests is below `below` in every selected round. */
  toHaveErrorRate(this: MatcherContext, received: unknown, expectation: { below: number } & RoundSelector): MatcherResult {
    const run = runOf(received, 'toHaveErrorRate')
    checkOptions('toHaveErrorRate', expectation, ['below', 'concurrency', 'round'], 'below')
    const rounds = select(run, expectation)
    const rows = rounds.map((r) => ({ label: r.label, rate: r.total ? r.failed / r.total : 0, top: r.errors[0] }))
    const pass = rows.length > 0 && rows.every((r) => r.rate < expectation.below)
    return plain({
      pass,
      message: () => [hint(this, 'toHaveErrorRate'), '', table(['round', 'error rate', 'limit', 'most common error', 'result'], rows.map((r) => [r.label, fmt(r.rate, 4), `< ${expectation.below}`,
        r.top ? `${r.top.kind} ×${r.top.count}: ${r.top.firstMessage.slice(0, 80)}` : '—', r.rate < expectation.below ? 'pass' : 'FAIL']))].join('\n') + where(run),
      actual: Object.fromEntries(rows.map((r) => [r.label, r.rate])),
      expected: Object.fromEntries(rows.map((r) => [r.label, `< ${expectation.below}`])),
    })
  },

  /**
   * No statistic regressed beyond `tolerance` against the stored baseline, judged by a bootstrap interval
   * over both runs' histograms. A missing baseline is written (locally) or fails (under `CI=true`);
   * `FLUXPERF_UPDATE_BASELINE=1` rewrites it; either way the fluxperf reporter says so after the run.
   * A baseline recorded with another configuration (output length, dataset, concurrency levels, workload,
   * model, ...) is refused, with `.not` too, naming each setting that differs, unless `allowConfigChange`.
   */
  toNotRegress(this: MatcherContext, received: unknown, baselinePath: string, options: RegressionOptions = {}): MatcherResult {
    const run = runOf(received, 'toNotRegress')
    checkOptions('toNotRegress', options, REGRESSION_OPTIONS)
    const head = hint(this, 'toNotRegress', 'baseline')
    const action = baselineAction(baselinePath)
    if (action === 'missing-in-ci') {
      // Fails with .not too: nothing was compared.
      return plain({ pass: this.isNot, message: () => `${head}\n\nBaseline ${baselinePath} does not exist, and CI=true: a gate never creates its own baseline. Run the benchmark locally (or with FLUXPERF_UPDATE_BASELINE=1) and commit the file.` })
    }
    if (action === 'write') {
      const why = existsSync(baselinePath) ? `rewrote baseline ${baselinePath} (FLUXPERF_UPDATE_BASELINE=1${changedSince(baselinePath, run)}; commit it)` : `wrote baseline ${baselinePath} (no baseline yet; commit it)`
      writeBaseline(baselinePath, run)
      notify(this, why)
      return plain({ pass: !this.isNot, message: () => `${head}\n\nBaseline written to ${baselinePath}; there was nothing to compare against.` })
    }
    const baseline = readBaseline(baselinePath)
    const differences = configDifferences(baseline, run)
    const changed = formatConfigDifferences(differences)
    if (differences.length > 0 && !options.allowConfigChange) {
      // Timings of two different configurations say nothing about a regression, either way.
      return plain({
        pass: this.isNot,
        message: () => [head, '', `Not compared: baseline and run differ in configuration: ${changed}; re-record the baseline with FLUXPERF_UPDATE_BASELINE=1 or pass { allowConfigChange: true }.`,
          `Baseline: ${baselinePath}`].join('\n') + where(run),
      })
    }
    const warning = differences.length > 0 ? `Warning: baseline and run differ in configuration (compared anyway: allowConfigChange): ${changed}` : undefined
    const checks = compareWithBaseline(run, baseline, options)
    const bad = checks.filter((c) => c.regressed || c.missing)
    const pass = checks.length > 0 && bad.length === 0
    // A failure's message carries the warning; a success's is never shown, so the reporter prints it.
    if (warning && pass !== this.isNot) notify(this, `toNotRegress against ${baselinePath}: baseline and run differ in configuration (compared anyway: allowConfigChange): ${changed}`)
    const tolerance = options.tolerance ?? 0.1
    const confidence = options.confidence ?? 0.95
    return plain({
      pass,
      message: () => [head, '', ...(warning ? [warning] : []),
        this.isNot ? 'Expected a regression, found none:' : `${bad.length} of ${checks.length} comparisons regressed beyond ${fmt(tolerance * 100, 0)}% (bootstrap ${fmt(confidence * 100, 0)}% interval of observed/baseline wholly above ${fmt(1 + tolerance)}):`,
        regressionTable(checks), `Baseline: ${baselinePath}`].join('\n') + where(run),
      actual: Object.fromEntries(checks.map((c) => [`${c.label} ${c.metric} ${c.stat}`, c.observed])),
      expected: Object.fromEntries(checks.map((c) => [`${c.label} ${c.metric} ${c.stat}`, c.baseline])),
    })
  },
}

/** `; configuration changed: maxOutputTokens 8 → 64` when the baseline being replaced measured something else. */
function changedSince(baselinePath: string, run: RunResult): string {
  try {
    const changed = formatConfigDifferences(configDifferences(readBaseline(baselinePath), run))
    return changed ? `; configuration changed: ${changed}` : ''
  } catch {
    return '' // an unreadable old baseline is simply replaced
  }
}

function regressionTable(checks: RegressionCheck[]): string {
  return table(['round', 'metric', 'stat', 'baseline', 'observed', 'ratio', 'interval', 'result'], checks.map((c) => [c.label, c.metric, c.stat, fmt(c.baseline), fmt(c.observed),
    fmt(c.ratio), c.missing ? c.missing : `[${fmt(c.low)}, ${fmt(c.high)}]`, c.missing ? 'FAIL' : c.regressed ? 'REGRESSED' : 'pass']))
}

/** Selected rounds whose share of failed requests is over the limit: `maxErrorRate`, else 0 unless the SLO bounds `errorRate` itself. */
function tooManyErrors(rounds: readonly RoundResult[], spec: SloSpec, maxErrorRate: number | undefined): RoundResult[] {
  const limit = maxErrorRate ?? (spec.terms.some((t) => t.metric === 'errorRate') ? undefined : 0)
  if (limit === undefined) return []
  return rounds.filter((r) => r.total > 0 && r.failed / r.total > limit)
}

function cachedCell(r: SpeedupAssessment): string {
  const c = r.coldRound
  if (!c || (c.coldShare === null && c.warmShare === null)) return 'not reported by the server'
  const share = (v: number | null): string => (v === null ? 'n/a' : `${fmt(v * 100, 1)}%`)
  return `${share(c.coldShare)} → ${share(c.warmShare)}`
}

function coldCell(r: SpeedupAssessment, allowUnverified: boolean): string {
  switch (r.coldRound?.status) {
    case 'cold': return 'cold'
    case 'warm': return 'NOT COLD'
    case 'unverified': return allowUnverified ? 'not verified (allowed)' : 'NOT VERIFIED'
    default: return 'missing'
  }
}

/** The explanations under the table for one level: n/a, a cold round that was not cold or not verified, failed cold requests. */
function speedupNotes(r: SpeedupAssessment): string[] {
  const notes: string[] = []
  const level = `Concurrency ${r.concurrency}`
  if (r.ratio === null) notes.push(`${level}: ratio n/a (${r.reason ?? 'no value'}); a ratio over no successful requests fails.`)
  const c = r.coldRound
  if (c && c.status !== 'cold') notes.push(`${level}: ${c.explanation}`)
  const suspects = c && r.coldLabel ? suspectsSentence(r.coldLabel, c) : undefined
  if (suspects) notes.push(`${level}: ${suspects}.`)
  return notes.length ? ['', ...notes] : []
}
