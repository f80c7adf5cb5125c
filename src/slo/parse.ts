import { closest } from '../didYouMean.ts'
import { InputError } from '../errors.ts'
import type { Slo } from '../types.ts'
import { parseExpression } from './expression.ts'
import { metricOf, SLO_METRICS } from './metrics.ts'
import type { PerRequestSlo, SloSpec, SloTerm } from './spec.ts'

/** A path to a key inside the SLO input, e.g. `['slo', 'ttft', 1]`. */
export type SloKeyPath = readonly (string | number)[]

/** Options of {@link parseSlo}. */
export interface ParseSloOptions {
  /** Gives a better location for a key (e.g. `slo.yaml:7`); default: `where` for every key. */
  locate?: (path: SloKeyPath) => string | undefined
}

/**
 * The Python-tool-shape per-request keys (ms) and the field each sets, in both spellings (`ttft_ms` as in the
 * Python tools' YAML, `ttftMs` as in code). `itl_ms` is the Python tools' ITL, i.e. our TPOT.
 */
export const PER_REQUEST_KEYS: Readonly<Record<string, keyof PerRequestSlo>> = {
  ttft_ms: 'ttftMs',
  itl_ms: 'tpotMs',
  tpot_ms: 'tpotMs',
  latency_ms: 'latencyMs',
  ttftMs: 'ttftMs',
  itlMs: 'tpotMs',
  tpotMs: 'tpotMs',
  latencyMs: 'latencyMs',
}

/**
 * Validates per-request limits alone (a workload's `goodputSlo`): keys in either spelling (`ttft_ms` or
 * `ttftMs`, `tpot_ms`/`itl_ms` or `tpotMs`/`itlMs`, `latency_ms` or `latencyMs`), positive numbers of ms.
 * @throws InputError naming `where` for an unknown key (with the nearest valid one), a bad value, a limit
 * given twice, or no limit at all (a goodput that nothing can fail).
 */
export function parsePerRequestSlo(input: unknown, where: string): PerRequestSlo {
  if (!isMapping(input)) throw new InputError(`expected per-request limits such as { ttft_ms: 1000 }, got ${kind(input)}`, where)
  const out: PerRequestSlo = {}
  const givenAs: Partial<Record<keyof PerRequestSlo, string>> = {}
  for (const [key, value] of Object.entries(input)) {
    const field = PER_REQUEST_KEYS[key]
    if (!field) {
      const near = closest(key, Object.keys(PER_REQUEST_KEYS))
      throw new InputError(`unknown per-request SLO key "${key}"${near ? ` (did you mean "${near}"?)` : ''}; accepted: ${PYTHON_TOOL_KEYS} (or ttftMs, tpotMs, latencyMs)`, where)
    }
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InputError(`${key}: expected a positive number of milliseconds, got ${show(value)}`, where)
    if (givenAs[field] !== undefined) throw new InputError(`${key}: the same limit is also given as ${givenAs[field]}; give it once`, where)
    givenAs[field] = key
    out[field] = value
  }
  if (Object.keys(out).length === 0) throw new InputError(`no per-request limit given, so every request would count as good; expected ${PYTHON_TOOL_KEYS}`, where)
  return out
}

const PYTHON_TOOL_KEYS = 'ttft_ms, tpot_ms (or itl_ms), latency_ms'

const EXAMPLE = 'e.g. { ttft_ms: 1000 } or { ttft: ["p(90) < 800"] }'

/**
 * Validates an SLO given in the Python tools' shape, as k6-style thresholds, or both, at the top level or
 * under an `slo:` key (the two are merged; a key given in both places is an error):
 *
 * - `ttft_ms`, `itl_ms` (= `tpot_ms`: the Python tools' ITL is our TPOT), `latency_ms`, or the same in camelCase
 *   (`ttftMs`, `itlMs`, `tpotMs`, `latencyMs`): positive numbers;
 *   per-request limits that define goodput (see `meetsRequestSlo`).
 * - a metric key (`ttft`, `itl`, `tpot`, `latency`, `inputTokens`, `outputTokens`, `errorRate`,
 *   `goodput`, `throughput`, `requestThroughput`, `goodputThroughput`; snake_case accepted) with one
 *   expression or a list of them, e.g. `ttft: ["p(90) < 800", "avg < 300"]` (see `parseExpression`).
 *
 * @param where names the input in errors: a file path, or `toMeetSlo`
 * @throws InputError naming `where` (or the located key), the key path, the offending text and the
 * accepted forms: unknown keys, bad values, malformed expressions, an empty SLO.
 */
export function parseSlo(input: unknown, where: string, options: ParseSloOptions = {}): SloSpec {
  const at = (path: SloKeyPath): string => options.locate?.(path) ?? where
  if (!isMapping(input)) throw new InputError(`expected a mapping of SLO terms (${EXAMPLE}), got ${kind(input)}`, where)

  const entries: { path: SloKeyPath; key: string; value: unknown }[] = []
  const seen = new Map<string, string>()
  const add = (path: SloKeyPath, key: string, value: unknown): void => {
    if (value === undefined) return // an optional field left unset in code, e.g. { ttft_ms: maybe }
    const previous = seen.get(key)
    if (previous !== undefined) throw new InputError(`${label(path)}: "${key}" is given twice (also as ${previous})`, at(path))
    seen.set(key, label(path))
    entries.push({ path, key, value })
  }
  for (const [key, value] of Object.entries(input)) {
    if (key !== 'slo') {
      add([key], key, value)
      continue
    }
    if (!isMapping(value)) throw new InputError(`slo: expected a mapping of SLO terms (${EXAMPLE}), got ${kind(value)}`, at(['slo']))
    for (const [inner, v] of Object.entries(value)) add(['slo', inner], inner, v)
  }

  const perRequest: PerRequestSlo = {}
  const terms: SloTerm[] = []
  // Keys are checked as they are read; the plain shape is an Slo once built.
  const source: Record<string, number | string[]> = {}
  for (const { path, key, value } of entries) {
    const field = PER_REQUEST_KEYS[key]
    if (field) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new InputError(`${label(path)}: expected a positive number of milliseconds, got ${show(value)}`, at(path))
      }
      if (perRequest[field] !== undefined) {
        const others = Object.keys(source).filter((k) => PER_REQUEST_KEYS[k] === field).join(', ')
        throw new InputError(`${label(path)}: ${others} and ${key} are the same limit${field === 'tpotMs' ? ' (per-request TPOT)' : ''}; give only one`, at(path))
      }
      perRequest[field] = value
      source[key] = value
      continue
    }
    const metric = metricOf(key)
    if (!metric) throw new InputError(`${label(path)}: unknown SLO key "${key}"${suggest(key)}; ${acceptedKeys()}`, at(path))
    const list = typeof value === 'string' ? [value] : value
    if (!Array.isArray(list) || list.length === 0) {
      throw new InputError(`${label(path)}: expected a threshold expression or a non-empty list of them, e.g. ${key}: ["${example(metric)}"], got ${show(value)}`, at(path))
    }
    const expressions: string[] = []
    for (const [i, text] of list.entries()) {
      const itemPath = typeof value === 'string' ? path : [...path, i]
      if (typeof text !== 'string') throw new InputError(`${label(itemPath)}: expected a threshold expression string such as "${example(metric)}", got ${show(text)}`, at(itemPath))
      const term = parseExpression(text, metric)
      if (typeof term === 'string') throw new InputError(`${label(itemPath)}: ${term}`, at(itemPath))
      terms.push(term)
      expressions.push(term.expression)
    }
    const existing = source[metric]
    source[metric] = Array.isArray(existing) ? [...existing, ...expressions] : expressions
  }
  if (terms.length === 0 && Object.keys(perRequest).length === 0) {
    throw new InputError(`the SLO has no terms; expected per-request limits or thresholds, ${EXAMPLE}`, where)
  }
  return { perRequest, terms, source, where }
}

/** `slo.ttft[1]` for a key path. */
export function label(path: SloKeyPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
}

function acceptedKeys(): string {
  const seed = Object.keys(PER_REQUEST_KEYS).filter((k) => k.includes('_'))
  return `accepted keys: ${seed.join(', ')} (numbers, ms; also spelt ${seed.map((k) => k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())).join(', ')}) and ${Object.keys(SLO_METRICS).join(', ')} (threshold expressions)`
}

function example(metric: string): string {
  const aggs = SLO_METRICS[metric as keyof typeof SLO_METRICS].aggregations
  return aggs.includes('rate') ? 'rate < 0.01' : aggs.includes('value') ? 'value > 10' : 'p(95) < 500'
}

/** ` (did you mean "ttft"?)` for a key close to an accepted one. */
function suggest(key: string): string {
  const best = closest(key, [...Object.keys(PER_REQUEST_KEYS), ...Object.keys(SLO_METRICS)])
  return best ? ` (did you mean "${best}"?)` : ''
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function kind(v: unknown): string {
  if (v === null || v === undefined) return 'nothing'
  if (Array.isArray(v)) return 'a list'
  return `a ${typeof v}`
}

function show(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`
  if (v === null || v === undefined) return 'nothing'
  // YAML's .nan / .inf and JSON's 1e400 are numbers JSON.stringify would print as "null".
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'not a number (.nan)' : `an infinite number (${v})`
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}
