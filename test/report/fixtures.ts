import { healthyClient } from '../helpers/runs.ts'
/**
 * Plain RunResult / RoundResult / RequestRecord fixtures for the report tests: every number is written
 * out, so a test can state the exact text a report makes of it (no server, no clock).
 */

import { MetricRecorder, TOKEN_METRICS } from '../../src/metrics/index.ts'
import type {
  ClientSummary, DualRoundResult, MetricName, MetricSummary, MultiRoundQaResult, MultiTurnResult, OpenLoopSummary,
  RequestRecord, RoundResult,
} from '../../src/types.ts'

/** A MetricSummary: the given fields over plain defaults (10 samples, 100 ms average). */
export function summary(fields: Partial<MetricSummary> = {}): MetricSummary {
  return { count: 10, avg: 100, p50: 100, p90: 150, p95: 160, p99: 190, min: 50, max: 200, stddev: 25, ...fields }
}

/** A metric without samples, as a round reports one. */
export function noSamples(): MetricSummary {
  return { count: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, min: 0, max: 0, stddev: 0 }
}

/** Distinct values per metric, so a report that swaps two metrics or two statistics shows it. */
export const METRICS: Record<'ttft' | 'tpot' | 'itl' | 'latency' | 'inputTokens' | 'outputTokens', MetricSummary> = {
  ttft: summary({ avg: 123.456, p50: 118.004, p90: 150.5, p95: 160.25, p99: 190.999, min: 80.1, max: 201.2, stddev: 30.125 }),
  tpot: summary({ avg: 12.3, p50: 12.1, p90: 14.2, p95: 15.3, p99: 17.4, min: 10.5, max: 18.6, stddev: 1.7 }),
  itl: summary({ count: 30, avg: 11.9, p50: 11.8, p90: 13.7, p95: 14.6, p99: 16.5, min: 0.4, max: 19.3, stddev: 2.2 }),
  latency: summary({ avg: 520.5, p50: 510, p90: 600, p95: 620, p99: 700, min: 400, max: 710, stddev: 55.5 }),
  inputTokens: summary({ avg: 100.5, p50: 100, p90: 120, p95: 125, p99: 130, min: 80, max: 131, stddev: 12 }),
  outputTokens: summary({ avg: 32, p50: 32, p90: 32, p95: 32, p99: 32, min: 32, max: 32, stddev: 0 }),
}

/** A round of 10 requests (9 succeeded, 1 timed out) over 2.5 s, with the metrics of {@link METRICS}. */
export function roundResult(fields: Partial<RoundResult> = {}): RoundResult {
  const concurrency = fields.concurrency ?? 4
  const round = fields.round ?? 1
  return {
    label: `Concurrency${concurrency}-Round${round}`,
    concurrency,
    round,
    total: 10,
    succeeded: 9,
    failed: 1,
    durationS: 2.5,
    avgInputTokens: 100.5,
    avgOutputTokens: 32,
    metrics: { ...METRICS },
    histograms: {},
    throughput: { requestsPerS: 3.6, outputTokensPerS: 115.2, inputTokensPerS: 361.8 },
    cache: { promptTokens: 900, cachedTokens: 0, cachedShare: 0, reportedBy: 9 },
    errors: [{ kind: 'timeout', count: 1, firstMessage: 'no answer within 30 s' }],
    ...fields,
  }
}

/**
 * Metrics and histograms recorded from samples, as a round records them (µs for times, whole tokens),
 * for reports that merge rounds' histograms.
 */
export function recordedMetrics(samples: Partial<Record<MetricName, number[]>>): Pick<RoundResult, 'metrics' | 'histograms'> {
  const metrics: RoundResult['metrics'] = {}
  const histograms: RoundResult['histograms'] = {}
  for (const [name, values] of Object.entries(samples) as [MetricName, number[]][]) {
    const recorder = new MetricRecorder(TOKEN_METRICS.has(name) ? 1 : 1000)
    for (const v of values) recorder.record(v)
    metrics[name] = recorder.summary()
    histograms[name] = recorder.encode()
  }
  return { metrics, histograms }
}

/** A client that kept up, precision off. */
export function client(): ClientSummary {
  return healthyClient(1)
}

/** What every RunResult holds, with fixed stamps 12.5 s apart. */
function common(rounds: RoundResult[]): Omit<DualRoundResult, 'workload'> {
  return {
    schemaVersion: 2,
    tool: { name: 'fluxperf', version: '0.0.0-test' },
    endpoint: 'http://127.0.0.1:8000/v1/chat/completions',
    model: 'test-model',
    startedAt: '2026-01-02T03:04:05.000Z',
    finishedAt: '2026-01-02T03:04:17.500Z',
    seed: 42,
    config: { samples: 10 },
    interrupted: false,
    client: client(),
    rounds,
    speedups: [],
  }
}

/** A dual-round run of the given rounds (default: one level, cold then warm), no speedups unless given. */
export function dualRoundRun(rounds: RoundResult[] = [roundResult(), roundResult({ round: 2 })], fields: Partial<DualRoundResult> = {}): DualRoundResult {
  return { ...common(rounds), workload: 'dual-round', ...fields }
}

/** A multi-turn run: round 1 = first turns, round 2 = later turns. */
export function multiTurnRun(rounds: RoundResult[], fields: Partial<MultiTurnResult> = {}): MultiTurnResult {
  return {
    ...common(rounds),
    workload: 'multi-turn',
    byTurn: [],
    byDocumentType: [],
    conversations: { planned: 4, started: 4, completed: 4, endedByContextLimit: 0 },
    ...fields,
  }
}

/** An open-loop summary at 2 QPS: 20 scheduled, 19 sent, 1 late, 1 dropped. */
export function openLoop(fields: Partial<OpenLoopSummary> = {}): OpenLoopSummary {
  return {
    targetRate: 2,
    achievedRate: 1.9,
    scheduled: 20,
    sent: 19,
    late: 1,
    dropped: 1,
    scheduleLag: summary({ avg: 0.5, p50: 0.25, p99: 4, max: 6.5 }),
    latencyFromScheduled: summary({ avg: 521, p50: 511, p99: 704 }),
    ttftFromScheduled: summary({ avg: 124, p50: 118.5, p99: 195 }),
    ...fields,
  }
}

/** A multi-round QA run of one round. */
export function qaRun(round: RoundResult, fields: Partial<MultiRoundQaResult> = {}): MultiRoundQaResult {
  return {
    ...common([round]),
    workload: 'multi-round-qa',
    openLoop: openLoop(),
    byTurn: [],
    schedule: {
      qps: 2, arrival: 'constant', numUsers: 4, numRounds: 5, sharedSystemPrompt: 1000, userHistoryPrompt: 2000, answerLen: 32,
      ignoreEos: false, timeS: 10, elapsedS: 10.25, usersCreated: 4, questions: 'synthetic', tokenizer: 'o200k_base',
    },
    ...fields,
  }
}

/** A successful request at 2026-01-02T03:04:05.000Z: TTFT 100 ms, 4 tokens over 400 ms. */
export function requestRecord(fields: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 'c4-r1-0', index: 0, sessionId: 'session-a', turnIndex: 0, round: 1, concurrency: 4,
    startedAt: Date.parse('2026-01-02T03:04:05.000Z'), ttftMs: 100, latencyMs: 400, chunkOffsetsMs: [100, 200, 300, 400], tpotMs: 100,
    inputTokens: 120, inputTokenSource: 'usage', outputTokens: 4, outputTokenSource: 'usage',
    cachedTokens: 64, status: 200, finishReason: 'stop', ok: true, outputText: 'one two three four', promptPreview: 'What is a prefix cache?',
    ...fields,
  }
}
