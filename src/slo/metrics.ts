import { TOKEN_METRICS } from '../metrics/names.ts'
import type { MetricName } from '../types.ts'
import type { SloAggregation, SloMetric } from './spec.ts'

/** What each SLO metric accepts and how it is shown. */
export interface SloMetricInfo {
  aggregations: readonly SloAggregation[]
  /** Unit for tables: `ms`, `tokens`, `tok/s`, `req/s`, or empty for shares. */
  unit: string
  description: string
}

const DISTRIBUTION: readonly SloAggregation[] = ['avg', 'min', 'max', 'med', 'p', 'count', 'stddev']

/** Every metric an SLO term can name, with its accepted aggregations (see the metric table in the docs). */
export const SLO_METRICS: Readonly<Record<SloMetric, SloMetricInfo>> = {
  ttft: { aggregations: DISTRIBUTION, unit: 'ms', description: 'time to first token per request' },
  itl: { aggregations: DISTRIBUTION, unit: 'ms', description: 'every gap between consecutive content chunks (per token)' },
  itlChunk: { aggregations: DISTRIBUTION, unit: 'ms', description: 'every gap between consecutive content chunks (per chunk)' },
  tpot: { aggregations: DISTRIBUTION, unit: 'ms', description: 'per request (latency − TTFT) / (output tokens − 1); the Python tools\' "ITL"' },
  latency: { aggregations: DISTRIBUTION, unit: 'ms', description: 'request start to end of stream' },
  inputTokens: { aggregations: DISTRIBUTION, unit: 'tokens', description: 'prompt tokens per request' },
  outputTokens: { aggregations: DISTRIBUTION, unit: 'tokens', description: 'generated tokens per request (reasoning and answer)' },
  ttfat: { aggregations: DISTRIBUTION, unit: 'ms', description: 'time to first answer token: the first content or tool-call token after any reasoning' },
  answerTokens: { aggregations: DISTRIBUTION, unit: 'tokens', description: 'answer tokens per request (output − reasoning)' },
  reasoningTime: { aggregations: DISTRIBUTION, unit: 'ms', description: 'first reasoning token to first answer token (requests that reasoned)' },
  reasoningTokens: { aggregations: DISTRIBUTION, unit: 'tokens', description: 'reasoning tokens per request (requests that reasoned)' },
  reasoningItl: { aggregations: DISTRIBUTION, unit: 'ms', description: 'gaps between reasoning chunks (per token)' },
  answerItl: { aggregations: DISTRIBUTION, unit: 'ms', description: 'gaps between answer chunks of requests that reasoned (per token)' },
  reasoningTpot: { aggregations: DISTRIBUTION, unit: 'ms', description: 'per request reasoning time / reasoning tokens' },
  answerTpot: { aggregations: DISTRIBUTION, unit: 'ms', description: 'per request (latency − time to first answer token) / (answer tokens − 1), requests that reasoned' },
  errorRate: { aggregations: ['rate'], unit: '', description: 'failed / total requests (0–1)' },
  goodput: { aggregations: ['rate'], unit: '', description: 'share of requests meeting the per-request SLO (0–1)' },
  throughput: { aggregations: ['value'], unit: 'tok/s', description: 'output tokens per second of round wall time' },
  requestThroughput: { aggregations: ['value'], unit: 'req/s', description: 'completed requests per second' },
  goodputThroughput: { aggregations: ['value'], unit: 'req/s', description: 'requests meeting the per-request SLO per second' },
}

/** snake_case spellings accepted for metric keys (YAML users write them). */
const ALIASES: Readonly<Record<string, SloMetric>> = {
  itl_chunk: 'itlChunk',
  input_tokens: 'inputTokens',
  output_tokens: 'outputTokens',
  answer_tokens: 'answerTokens',
  reasoning_time: 'reasoningTime',
  reasoning_tokens: 'reasoningTokens',
  reasoning_itl: 'reasoningItl',
  answer_itl: 'answerItl',
  reasoning_tpot: 'reasoningTpot',
  answer_tpot: 'answerTpot',
  error_rate: 'errorRate',
  request_throughput: 'requestThroughput',
  goodput_throughput: 'goodputThroughput',
}

/** The metric a key names (camelCase or snake_case), or undefined. */
export function metricOf(key: string): SloMetric | undefined {
  if (Object.hasOwn(SLO_METRICS, key)) return key as SloMetric
  return ALIASES[key]
}

/** Histogram scale of a metric (see MetricRecorder): 1000 for times (µs stored), 1 for token counts. */
export function histogramScale(metric: SloMetric): number {
  return TOKEN_METRICS.has(metric as MetricName) ? 1 : 1000
}
