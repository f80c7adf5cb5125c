import { printable } from '../printable.ts'
import type { RunResult } from '../types.ts'

/** One setting whose value differs between a baseline and a run (`undefined`: not set on that side). */
export interface ConfigDifference {
  /** `workload`, `model`, or the setting's name as `RunResult.config` records it (`maxOutputTokens`, `dataset`). */
  key: string
  baseline: unknown
  run: unknown
}

/**
 * Settings that do not change what is measured, left out of the comparison: where and how to connect
 * (the endpoint itself: a mock listens on a new port every run, and measuring another server against the
 * baseline is what a baseline is for), how the cache is emptied (whether each level's first round is
 * cold is `resetCacheBetweenRounds`, which counts), and what is recorded besides the timings. Precision
 * mode, warm-up, output paths and debug flags are not in `RunResult.config` at all. Every other setting
 * counts, new ones included: a setting nobody classified refuses rather than compares silently.
 */
export const UNMEASURED_SETTINGS: ReadonlySet<string> = new Set([
  // where and how to connect
  'endpoint', 'apiKey', 'headers', 'secretHeaders', 'proxy', 'caFile', 'insecure', 'keepAlive', 'keepAliveTimeout', 'timeout', 'inFlightGraceMs', 'signal',
  // how the prefix cache is emptied, and how the engine is named
  'resetCacheUrl', 'resetCache', 'engine',
  // what is recorded besides the timings, and where it goes
  'goodputSlo', 'prometheus', 'logInterval', 'hooks', 'clock', 'precision', 'warmup', 'outputDir', 'debug', 'debugLogDir', 'reporters', 'format',
  // multi-round QA records `maxOutputTokens` too, with the same value
  'answerLen',
])

/** What an absent setting means, so that `concurrency: [1]` and no `concurrency` are the same run. */
const DEFAULTS: Record<string, unknown> = {
  stream: true, continuousUsageStats: true, ignoreEos: false, reasoningTags: false, api: 'chat', retries: 0, tokenizer: 'o200k_base',
}
const WORKLOAD_DEFAULTS: Partial<Record<RunResult['workload'], Record<string, unknown>>> = {
  'dual-round': { concurrency: [1], resetCacheBetweenRounds: false, shuffleRound2: false },
}

/**
 * The settings that differ between a baseline and a run and change what is measured: the workload, the
 * model, and every `RunResult.config` entry not in {@link UNMEASURED_SETTINGS} (the seed included: it
 * chooses the samples). Absent settings count as their defaults; file paths are compared normalised
 * (`./a.jsonl` is `a.jsonl`), and the seed documents shipped with fluxperf are the same wherever the
 * checkout is. Empty when the two runs measured the same thing.
 */
export function configDifferences(baseline: RunResult, run: RunResult): ConfigDifference[] {
  const out: ConfigDifference[] = []
  if (baseline.workload !== run.workload) out.push({ key: 'workload', baseline: baseline.workload, run: run.workload })
  if (baseline.model !== run.model) out.push({ key: 'model', baseline: baseline.model, run: run.model })
  const before = settingsOf(baseline)
  const after = settingsOf(run)
  // In the order the run (then the baseline) records them; defaults only matter where one side sets another value.
  for (const key of new Set([...Object.keys(run.config ?? {}), ...Object.keys(baseline.config ?? {}), ...Object.keys(after), ...Object.keys(before)])) {
    if (UNMEASURED_SETTINGS.has(key) || key === 'model') continue
    if (canonical(before[key]) !== canonical(after[key])) out.push({ key, baseline: before[key], run: after[key] })
  }
  // No seed set on either side: each run drew its own at random, and where the seed chooses the requests
  // (sampled rows, shuffled rounds, generated conversations) the two runs sent different prompts.
  if (!out.some((d) => d.key === 'seed') && baseline.seed !== run.seed && seedChoosesRequests(run)) {
    out.push({ key: 'seed', baseline: `${baseline.seed} (drawn at random)`, run: `${run.seed} (drawn at random; pass a seed so that runs send the same requests)` })
  }
  return out
}

/** Whether the seed decides which requests a run sends: sampling or shuffling a dataset, or generating conversations. */
function seedChoosesRequests(run: RunResult): boolean {
  if (run.workload !== 'dual-round') return true
  const config = run.config ?? {}
  return config['samples'] !== undefined || config['shuffleRound2'] === true
}

/** `maxOutputTokens 8 → 64; dataset a.jsonl → b.jsonl` (an unset side reads `not set`). */
export function formatConfigDifferences(differences: readonly ConfigDifference[]): string {
  return differences.map((d) => `${d.key} ${show(d.baseline)} → ${show(d.run)}`).join('; ')
}

/** A run's measured settings, defaults filled in and paths normalised. */
function settingsOf(run: RunResult): Record<string, unknown> {
  const config: Record<string, unknown> = { ...DEFAULTS, ...WORKLOAD_DEFAULTS[run.workload] }
  for (const [key, value] of Object.entries(run.config ?? {})) if (value !== undefined && value !== null) config[key] = value
  // Multi-round QA's answer length is its max_tokens (a baseline may have recorded only one of the two).
  if (config['maxOutputTokens'] === undefined && typeof run.config?.['answerLen'] === 'number') config['maxOutputTokens'] = run.config['answerLen']
  for (const key of ['dataset', 'documents', 'sharegpt']) {
    const value = config[key]
    if (typeof value === 'string') config[key] = normalisePath(value)
  }
  return config
}

function normalisePath(path: string): string {
  const p = path.replace(/\\/g, '/').replace(/\/+/g, '/').replace(/^(\.\/)+/, '').replace(/\/(\.\/)+/g, '/').replace(/\/$/, '')
  // The shipped seed documents: an absolute path into wherever fluxperf is installed.
  return /(^|\/)datasets\/seed-documents$/.test(p) ? 'the seed documents shipped with fluxperf' : p
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` compare equal. */
function canonical(value: unknown): string {
  if (value === undefined) return 'undefined'
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v)
}

function show(value: unknown): string {
  if (value === undefined) return 'not set'
  if (typeof value === 'string') return printable(value)
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'string' ? printable(v) : JSON.stringify(v))).join(', ')}]`
  return printable(JSON.stringify(value))
}
