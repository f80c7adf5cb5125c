import { expect, test } from 'vitest'
import { addClientWait } from '../../src/schedule/index.ts'
import type { ScheduledSend } from '../../src/schedule/index.ts'
import { openLoopSummary } from '../../src/workloads/index.ts'
import type { RequestRecord } from '../../src/types.ts'

function send(index: number, lagMs: number): ScheduledSend {
  return { index, userId: 1, question: index, intendedAt: 1_000 + index, sentAt: 1_000 + index + lagMs, lagMs, late: false, dropped: false, requestId: `r${index}` }
}

function record(id: string, latencyMs: number, queuedMs?: number): RequestRecord {
  const r = { id, index: 0, sessionId: 's', turnIndex: 0, round: 1, concurrency: 0, startedAt: 0, ttftMs: latencyMs / 2, latencyMs, chunkOffsetsMs: [], tpotMs: null, inputTokens: 1, inputTokenSource: 'usage', outputTokens: 1, outputTokenSource: 'usage', cachedTokens: null, status: 200, finishReason: 'stop', ok: true, outputText: '', promptPreview: '' } as RequestRecord
  if (queuedMs !== undefined) r.queuedMs = queuedMs
  return r
}

test('a send that waited for a connection inside the client shows its wait in lag, latency and TTFT from the intended send', () => {
  const sends = [send(0, 2), send(1, 2)]
  const records = new Map([['r0', record('r0', 100)], ['r1', record('r1', 100, 4000)]])
  for (const s of sends) addClientWait(s, records.get(s.requestId as string)?.queuedMs)
  const summary = openLoopSummary(1, 2, sends, records)
  expect(summary.scheduleLag.max).toBeCloseTo(4002, 0)
  expect(summary.latencyFromScheduled.max).toBeCloseTo(4102, 0)
  expect(summary.ttftFromScheduled.max).toBeCloseTo(4052, 0)
  expect(summary.latencyFromScheduled.min).toBeCloseTo(102, 0)
})

test('no client wait: lag is the timer\'s alone', () => {
  const s = send(0, 1)
  addClientWait(s, undefined)
  const summary = openLoopSummary(1, 2, [s], new Map([['r0', record('r0', 50)]]))
  expect(summary.latencyFromScheduled.max).toBeCloseTo(51, 0)
})
