/**
 * `/metrics` in Prometheus text format through prom-client, with vLLM's metric names so that tools
 * reading vLLM's counters work against the mock. One Registry per mock instance (never the global
 * one): tests start several mocks in one process.
 *
 * Counters and gauges are read from the engine's plain counters at scrape time (`collect`), so the
 * per-token path never touches prom-client. prom-client is loaded when the first mock starts (lazyRequire.ts).
 */

import type { Counter, Histogram, Registry } from 'prom-client'
import { promClient } from '../lazyRequire.ts'
import type { EngineStats } from './engine.ts'

/** vLLM's TTFT buckets, in seconds. */
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560,
]

export class MockMetrics {
  readonly registry: Registry
  readonly #labels: { model_name: string }
  readonly #ttft: Histogram<'model_name'>
  readonly #success: Counter<'model_name' | 'finished_reason'>

  constructor(model: string, stats: () => EngineStats) {
    const { Counter, Gauge, Histogram, Registry } = promClient()
    this.registry = new Registry()
    const registers = [this.registry]
    const labels = { model_name: model }
    this.#labels = labels

    // A counter that follows a cumulative number kept elsewhere.
    const mirrored = (name: string, help: string, read: (s: EngineStats) => number): void => {
      let reported = 0
      new Counter({
        name,
        help,
        labelNames: ['model_name'],
        registers,
        collect() {
          const value = read(stats())
          this.inc(labels, Math.max(0, value - reported))
          reported = Math.max(reported, value)
        },
      })
    }
    const gauge = (name: string, help: string, read: (s: EngineStats) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['model_name'],
        registers,
        collect() {
          this.set(labels, read(stats()))
        },
      })
    }

    mirrored('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', (s) => s.promptTokens)
    mirrored('vllm:generation_tokens_total', 'Number of generation tokens processed.', (s) => s.generationTokens)
    mirrored(
      'vllm:prefix_cache_queries_total',
      'Prefix cache queries, in terms of number of queried tokens.',
      (s) => s.cacheQueryTokens,
    )
    mirrored(
      'vllm:prefix_cache_hits_total',
      'Prefix cache hits, in terms of number of cached tokens.',
      (s) => s.cachedTokens,
    )
    gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', (s) => s.running)
    gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', (s) => s.waiting)
    gauge('vllm:gpu_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', (s) => s.cacheUsage)
    gauge('lmcache_hit_rate', 'Prefix cache hit rate: hit tokens / queried tokens, since start.', (s) =>
      s.cacheQueryTokens === 0 ? 0 : s.cachedTokens / s.cacheQueryTokens,
    )

    this.#ttft = new Histogram({
      name: 'vllm:time_to_first_token_seconds',
      help: 'Histogram of time to first token in seconds.',
      labelNames: ['model_name'],
      buckets: TTFT_BUCKETS,
      registers,
    })
    this.#success = new Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: ['model_name', 'finished_reason'],
      registers,
    })
  }

  observeTtft(seconds: number): void {
    this.#ttft.observe(this.#labels, seconds)
  }

  requestSucceeded(finishedReason: string): void {
    this.#success.inc({ ...this.#labels, finished_reason: finishedReason })
  }

  get contentType(): string {
    return this.registry.contentType
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }
}
