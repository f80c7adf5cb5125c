/**
 * Reading the Prometheus text exposition format (what `/metrics` answers) into flat series.
 *
 * The parsing itself is done by `parse-prometheus-text-format` (label escaping, timestamps, HELP/TYPE
 * metadata, names with colons such as `vllm:prompt_tokens_total`). Two known defects of its 1.1.1 release
 * are worked around here rather than by re-implementing the format:
 * - a histogram or summary whose series carry labels (every vLLM histogram has `model_name`) is folded
 *   into one label-less object and loses its `_sum`/`_count` (upstream issue #13, fix in the unmerged
 *   PR #8). We therefore hand it the text with those families declared `untyped`, so every sample comes
 *   back as its own series with all its labels, and we regroup them by the declared type ourselves.
 * - the last sample of a text without a final newline is dropped: a newline is appended.
 */

import parsePrometheusTextFormat from 'parse-prometheus-text-format'

/** Metric types of the exposition format; `untyped` when no `# TYPE` line says. */
export type PrometheusType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

/** One sample line: `name{labels} value`. */
export interface PrometheusSeries {
  /** The sample's own name, e.g. `vllm:time_to_first_token_seconds_bucket`. */
  name: string
  /** The family it belongs to (the `# TYPE` name), e.g. `vllm:time_to_first_token_seconds`. */
  family: string
  /** The family's declared type. */
  type: PrometheusType
  labels: Record<string, string>
  /** NaN, +Inf and -Inf are kept as such. */
  value: number
}

/** A metric family as `/metrics` declares it. */
export interface PrometheusFamily {
  name: string
  type: PrometheusType
  help: string
  /** Sample lines of the family (for a histogram: every bucket, `_sum` and `_count`). */
  samples: number
}

/** A parsed scrape. */
export interface Exposition {
  series: PrometheusSeries[]
  families: Map<string, PrometheusFamily>
}

/** The text is not in the Prometheus text format (HTML, JSON, a malformed line). */
export class ExpositionFormatError extends Error {
  override readonly name = 'ExpositionFormatError'
}

const TYPES = new Set<PrometheusType>(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
/** Suffixes of the series of a family: counters (`_total`, `_created` in OpenMetrics), histograms and summaries. */
const SUFFIXES = ['_total', '_created', '_bucket', '_sum', '_count', '_gsum', '_gcount'] as const
const GROUPED_TYPE = /^# TYPE (\S+) (histogram|summary|gaugehistogram)$/i

/**
 * Parses an exposition text into flat series.
 * @throws ExpositionFormatError when the text is not in the exposition format.
 */
export function parseExposition(text: string): Exposition {
  const declared = new Map<string, PrometheusType>()
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = GROUPED_TYPE.exec((lines[i] as string).trim())
    if (!match) continue
    const type = (match[2] as string).toLowerCase()
    declared.set(match[1] as string, type === 'gaugehistogram' ? 'histogram' : (type as PrometheusType))
    lines[i] = `# TYPE ${match[1]} untyped`
  }
  let families
  try {
    families = parsePrometheusTextFormat(lines.join('\n') + '\n')
  } catch (error) {
    throw new ExpositionFormatError(shorten((error as Error).message))
  }
  const raw: { name: string; help: string; labels: Record<string, string>; value: string | undefined }[] = []
  const help = new Map<string, string>()
  for (const family of families) {
    const type = family.type.toLowerCase() as PrometheusType
    if (!declared.has(family.name) && type !== 'untyped' && TYPES.has(type)) declared.set(family.name, type)
    if (family.help) help.set(family.name, family.help)
    for (const sample of family.metrics) raw.push({ name: family.name, help: family.help, labels: sample.labels ?? {}, value: sample.value })
  }
  const exposition: Exposition = { series: [], families: new Map() }
  for (const [name, type] of declared) exposition.families.set(name, { name, type, help: help.get(name) ?? '', samples: 0 })
  for (const sample of raw) {
    if (!NAME.test(sample.name)) throw new ExpositionFormatError(`"${shorten(sample.name)}" is not a metric name`)
    const value = sampleValue(sample.value)
    if (value === undefined) throw new ExpositionFormatError(`"${shorten(`${sample.name} ${sample.value ?? ''}`)}" has no numeric value`)
    const { family, type } = familyOf(sample.name, declared)
    let entry = exposition.families.get(family)
    if (!entry) exposition.families.set(family, (entry = { name: family, type, help: help.get(family) ?? '', samples: 0 }))
    entry.samples++
    exposition.series.push({ name: sample.name, family, type, labels: sample.labels, value })
  }
  for (const [name, family] of exposition.families) if (family.samples === 0 && !declared.has(name)) exposition.families.delete(name)
  if (exposition.series.length === 0) {
    const content = lines.find((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    if (content !== undefined) throw new ExpositionFormatError(`no sample could be read from "${shorten(content.trim())}"`)
  }
  return exposition
}

function familyOf(name: string, declared: Map<string, PrometheusType>): { family: string; type: PrometheusType } {
  const own = declared.get(name)
  if (own) return { family: name, type: own }
  for (const suffix of SUFFIXES) {
    if (!name.endsWith(suffix)) continue
    const base = name.slice(0, -suffix.length)
    const type = declared.get(base)
    if (type) return { family: base, type }
  }
  return { family: name, type: 'untyped' }
}

function sampleValue(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const t = text.trim()
  if (t === '') return undefined
  if (/^\+?inf$/i.test(t)) return Infinity
  if (/^-inf$/i.test(t)) return -Infinity
  if (/^nan$/i.test(t)) return NaN
  const n = Number(t)
  return Number.isNaN(n) ? undefined : n
}

function shorten(text: string): string {
  const one = text.replace(/\s+/g, ' ')
  return one.length > 120 ? `${one.slice(0, 117)}...` : one
}

/** `name{a="x",b="y"}` with the label values escaped as the exposition format does. */
export function seriesId(name: string, labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort()
  if (keys.length === 0) return name
  return `${name}{${keys.map((k) => `${k}="${(labels[k] as string).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`
}
