import type { RequestRecord, RoundResult, RunResult } from '../types.ts'

/**
 * `concurrency_{c}_round_{r}.json` in the Python tools' layout: configuration, summary (the Python tools' flat
 * `avg_ttft`, `p50_ttft`, ... keys plus fluxperf's full round), and one entry per request.
 */
export function roundJson(run: Pick<RunResult, 'endpoint' | 'model' | 'seed' | 'config'>, round: RoundResult, records: readonly RequestRecord[]): string {
  return JSON.stringify({ ...roundHead(run, round), requests: records.map(requestEntry) }, null, 2) + '\n'
}

/** The configuration and summary of `concurrency_{c}_round_{r}.json` (everything but its requests). */
export function roundHead(run: Pick<RunResult, 'endpoint' | 'model' | 'seed' | 'config'>, round: RoundResult): { configuration: Record<string, unknown>; summary: Record<string, unknown> } {
  const flat: Record<string, number> = {}
  for (const [key, metric] of [['ttft', 'ttft'], ['itl', 'tpot'], ['latency', 'latency']] as const) {
    const s = round.metrics[metric]
    if (!s) continue
    for (const stat of ['avg', 'p50', 'p90', 'p95', 'p99', 'min', 'max', 'stddev'] as const) flat[`${stat}_${key}`] = s[stat]
  }
  return {
    configuration: {
      ...run.config,
      endpoint: run.endpoint,
      model: run.model,
      concurrency: round.concurrency,
      num_samples: round.total,
      round: round.round,
      seed: run.seed,
    },
    summary: {
      total_requests: round.total,
      successful_requests: round.succeeded,
      failed_requests: round.failed,
      duration_s: round.durationS,
      ...flat,
      request_throughput: round.throughput.requestsPerS,
      token_throughput: round.throughput.outputTokensPerS,
      round,
    },
  }
}

/** One request in the Python tools' shape (`ttft`, `itl` = TPOT, `latency`, ...) followed by the full record. */
export function requestEntry(r: RequestRecord): Record<string, unknown> {
  const { outputText: _text, promptPreview, index, ...record } = r
  return {
    index,
    prompt: promptPreview,
    ttft: r.ttftMs,
    itl: r.tpotMs,
    latency: r.latencyMs,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    success: r.ok,
    ...record,
  }
}
