import { expect, test } from 'vitest'
import { lagUntilStarted, systemClock } from '../../src/schedule/index.ts'
import type { Clock, ScheduledSend } from '../../src/schedule/index.ts'
import { openLoopSummary } from '../../src/workloads/index.ts'
import type { RequestRecord } from '../../src/types.ts'

function send(index: number, lagMs: number): ScheduledSend {
  return { index, userId: 1, question: index, intendedAt: 1_000 + index, sentAt: 1_000 + index + lagMs, lagMs, late: false, dropped: false, requestId: `r${index}` }
}

/** A clock of the tests' own: its timeline is not the one records are stamped on. */
const virtual: Clock = { now: () => 0, sleepUntil: async () => undefined }

function record(id: string, latencyMs: number, queuedMs?: number, startedAt = 0): RequestRecord {
  const r = { id, index: 0, sessionId: 's', turnIndex: 0, round: 1, concurrency: 0, startedAt, ttftMs: latencyMs / 2, latencyMs, chunkOffsetsMs: [], tpotMs: null, inputTokens: 1, inputTokenSource: 'usage', outputTokens: 1, outputTokenSource: 'usage', cachedTokens: null, status: 200, finishReason: 'stop', ok: true, outputText: '', promptPreview: '' } as RequestRecord
  if (queuedMs !== undefined) r.queuedMs = queuedMs
  return r
}

test('a send that waited for a connection inside the client shows its wait in lag, latency and TTFT from the intended send', () => {
  const sends = [send(0, 2), send(1, 2)]
  const records = new Map([['r0', record('r0', 100)], ['r1', record('r1', 100, 4000)]])
  for (const s of sends) lagUntilStarted(s, records.get(s.requestId as string) as RequestRecord, virtual)
  const summary = openLoopSummary(1, 2, sends, records)
  expect(summary.scheduleLag.max).toBeCloseTo(4002, 0)
  expect(summary.latencyFromScheduled.max).toBeCloseTo(4102, 0)
  expect(summary.ttftFromScheduled.max).toBeCloseTo(4052, 0)
  expect(summary.latencyFromScheduled.min).toBeCloseTo(102, 0)
})

test('no client wait: lag is the timer\'s alone', () => {
  const s = send(0, 1)
  lagUntilStarted(s, record('r0', 50), virtual)
  const summary = openLoopSummary(1, 2, [s], new Map([['r0', record('r0', 50)]]))
  expect(summary.latencyFromScheduled.max).toBeCloseTo(51, 0)
})

test('on the system clock, lag runs to the moment the request started: the client\'s time building and serialising it counts', () => {
  // Intended at 1,000, fired at 1,002, started (written) at 1,007.5 after 2 ms waiting for a connection.
  const s = send(0, 2)
  lagUntilStarted(s, record('r0', 100, 2, 1_007.5), systemClock)
  expect(s.lagMs).toBeCloseTo(7.5, 9)
  expect(s.sentAt).toBeCloseTo(1_007.5, 9)
  // Never shorter than what the scheduler saw.
  const early = send(1, 3)
  lagUntilStarted(early, record('r1', 100, undefined, 1_002), systemClock)
  expect(early.lagMs).toBe(3)
  // A retried request started its answered attempt after the server's Retry-After: only the connection wait counts.
  const retried = send(2, 1)
  lagUntilStarted(retried, { ...record('r2', 100, 4, 9_000), retries: 1 }, systemClock)
  expect(retried.lagMs).toBeCloseTo(5, 9)
  // A dropped send stays without lag.
  const dropped: ScheduledSend = { ...send(3, 0), sentAt: null, lagMs: null, dropped: true }
  lagUntilStarted(dropped, record('r3', 100, 1, 2_000), systemClock)
  expect(dropped.lagMs).toBeNull()
})
