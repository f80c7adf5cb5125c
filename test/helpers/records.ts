import type { RequestRecord } from '../../src/types.ts'

/** A successful record with known timings; override any field. */
export function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 'r', index: 0, sessionId: 's', turnIndex: 0, round: 1, concurrency: 1,
    startedAt: 1_000_000, ttftMs: 100, latencyMs: 400, chunkOffsetsMs: [100, 200, 300, 400], tpotMs: 100,
    inputTokens: 10, inputTokenSource: 'usage', outputTokens: 4, outputTokenSource: 'usage',
    cachedTokens: null, status: 200, finishReason: 'stop', ok: true, outputText: 'a b c d', promptPreview: 'q',
    ...overrides,
  }
}
