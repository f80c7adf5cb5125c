/**
 * Metric selectors of `--prometheus-metrics`: a metric name with optional PromQL-style label matchers,
 * `vllm:prefix_cache_hits_total{model_name="m"}`, `vllm:num_requests_running{model_name=~"llama.*"}`.
 */

import { InputError } from '../errors.ts'
import type { PrometheusSeries } from './prometheusText.ts'

export interface LabelMatcher {
  label: string
  op: '=' | '!=' | '=~' | '!~'
  value: string
  /** For `=~` / `!~`: the value as an anchored regular expression (as PromQL anchors it). */
  regex?: RegExp
}

export interface MetricSelector {
  /** As the user wrote it (the key of the reported metric). */
  text: string
  name: string
  matchers: LabelMatcher[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)/

/**
 * Parses one selector.
 * @throws InputError naming `--prometheus-metrics` and saying what was expected.
 */
export function parseSelector(text: string, flag = '--prometheus-metrics'): MetricSelector {
  const trimmed = text.trim()
  const brace = trimmed.indexOf('{')
  const name = brace === -1 ? trimmed : trimmed.slice(0, brace)
  const example = 'expected a metric name with optional label matchers, e.g. vllm:prefix_cache_hits_total{model_name="m"}'
  if (!NAME.test(name)) throw new InputError(`"${text}" is not a metric selector; ${example}`, flag)
  const matchers: LabelMatcher[] = []
  if (brace !== -1) {
    if (!trimmed.endsWith('}')) throw new InputError(`"${text}": missing the closing "}"; ${example}`, flag)
    let rest = trimmed.slice(brace + 1, -1)
    while (rest.trim() !== '') {
      const m = MATCHER.exec(rest)
      if (!m) throw new InputError(`"${text}": cannot read the label matcher "${rest.trim()}"; expected label="value" (or !=, =~, !~)`, flag)
      const value = unescape(m[3] as string)
      const matcher: LabelMatcher = { label: m[1] as string, op: m[2] as LabelMatcher['op'], value }
      if (matcher.op === '=~' || matcher.op === '!~') {
        try {
          matcher.regex = new RegExp(`^(?:${value})$`)
        } catch (error) {
          throw new InputError(`"${text}": bad regular expression "${value}" (${(error as Error).message})`, flag)
        }
      }
      matchers.push(matcher)
      rest = rest.slice(m[0].length)
    }
  }
  return { text: trimmed, name, matchers }
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
}

/** True when the series' labels satisfy every matcher (a missing label is the empty string, as in PromQL). */
export function labelsMatch(selector: MetricSelector, labels: Record<string, string>): boolean {
  for (const m of selector.matchers) {
    const v = labels[m.label] ?? ''
    const ok = m.op === '=' ? v === m.value : m.op === '!=' ? v !== m.value : (m.regex as RegExp).test(v) === (m.op === '=~')
    if (!ok) return false
  }
  return true
}

/**
 * The series a selector picks: those named as the selector, those of the family it names (a histogram's
 * `_bucket`, `_sum` and `_count`), and `<name>_total` (so `vllm:prefix_cache_hits` finds the counter the
 * Python client exposes as `vllm:prefix_cache_hits_total`) — filtered by the label matchers.
 */
export function selectSeries(selector: MetricSelector, series: readonly PrometheusSeries[]): PrometheusSeries[] {
  const total = `${selector.name}_total`
  return series.filter((s) => {
    const named = s.name === selector.name || s.name === total || (s.family === selector.name && !s.name.endsWith('_created'))
    return named && labelsMatch(selector, s.labels)
  })
}
