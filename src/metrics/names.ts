import type { MetricName } from '../types.ts'

/** Every metric a round may report, in report order (the reasoning ones are there only when measured). */
export const METRIC_NAMES: readonly MetricName[] = [
  'ttft', 'itl', 'itlChunk', 'tpot', 'latency', 'inputTokens', 'outputTokens',
  'ttfat', 'answerTokens', 'reasoningTime', 'reasoningTokens', 'reasoningItl', 'answerItl', 'reasoningTpot', 'answerTpot',
]

/** Metrics that count tokens (recorded in units of 1); the others are times (ms, recorded in µs). */
export const TOKEN_METRICS: ReadonlySet<MetricName> = new Set(['inputTokens', 'outputTokens', 'answerTokens', 'reasoningTokens'])

/** Metrics per token (a chunk of k tokens counts k times). */
export const PER_TOKEN_METRICS: ReadonlySet<MetricName> = new Set(['itl', 'itlChunk', 'reasoningItl', 'answerItl'])
