import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { loadSeedDocuments } from '../../src/data/index.ts'
import type { SeedDocument } from '../../src/data/index.ts'
import { InputError } from '../../src/errors.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer, MockServerOptions } from '../../src/mock/index.ts'
import { createRandom } from '../../src/random.ts'
import type { RequestRecord } from '../../src/types.ts'
import { multiTurn, runMultiTurn, shippedSeedDocumentsDir } from '../../src/workloads/index.ts'
import type { DebugEntry, MultiTurnOptions } from '../../src/workloads/index.ts'
import { firstMessage, planConversations } from '../../src/workloads/multiTurnPrompts.ts'

/**
 * Slow prefill, fast decode: a cold seed document (600–900 tokens) costs a few hundred ms of prefill,
 * a warm later turn (only the follow-up is new) a few ms, so cold vs warm differs by a wide margin.
 */
const SLOW_PREFILL: MockServerOptions = { prefillTokensPerS: 3000, baseLatencyMs: 2, itlMs: 0.3, itlPerSeqMs: 0, jitter: 0 }

let mock: MockServer | undefined
afterEach(async () => {
  await mock?.close()
  mock = undefined
})
const tmp = mkdtempSync(join(tmpdir(), 'fluxperf-mt-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

async function run(mockOptions: MockServerOptions, options: Partial<MultiTurnOptions> = {}) {
  mock = await startMockServer({ port: 0, ...mockOptions })
  const debug: DebugEntry[] = []
  const records: RequestRecord[] = []
  const notices: string[] = []
  const result = await runMultiTurn({
    endpoint: `${mock.url}/v1/chat/completions`,
    conversations: 4, turns: 3, parallel: 1, maxOutputTokens: 16, minDelay: 0, maxDelay: 0.005, seed: 5,
    ...options,
    hooks: { onDebug: (e) => debug.push(e), onRequest: (r) => records.push(r), onNotice: (m) => notices.push(m) },
  })
  return { result, debug, records, notices, stats: mock.stats() }
}

describe('multi-turn against the mock', () => {
  // toMeetSlo refuses a saturated client: one stall of a loaded machine can be this short run's p99, and a retry measures again.
  test('prefix cache on: every later turn is faster than turn 1, and the speedup is > 1', { retry: 2 }, async () => {
    const { result, debug, records, stats } = await run(SLOW_PREFILL)
    expect(result.workload).toBe('multi-turn')
    expect(result.seed).toBe(5)
    expect(result.rounds.map((r) => [r.label, r.round, r.concurrency, r.total, r.failed])).toEqual([['Turn1', 1, 1, 4, 0], ['Turns2+', 2, 1, 8, 0]])
    expect(stats.requests).toBe(12)
    expect(result.conversations).toEqual({ planned: 4, started: 4, completed: 4, endedByContextLimit: 0 })

    const [t1, t2, t3] = result.byTurn ?? []
    expect(result.byTurn?.map((t) => [t.turn, t.ttft.count])).toEqual([[1, 4], [2, 4], [3, 4]])
    // Cold ≈ 200-300 ms, warm ≈ 10 ms at this prefill rate: a factor 2 is a very generous floor.
    expect(t1!.ttft.avg).toBeGreaterThan(2 * t2!.ttft.avg)
    expect(t1!.ttft.avg).toBeGreaterThan(2 * t3!.ttft.avg)
    const avg = result.speedups.find((s) => s.stat === 'avg')
    expect(avg?.ratio).toBeGreaterThan(2)
    expect(avg?.cold).toBe(result.rounds[0]!.metrics.ttft!.avg)
    expect(result.rounds[1]!.cache.cachedShare).toBeGreaterThan(0.8)
    expect(result).toHaveCacheSpeedup({ stat: 'p50', atLeast: 2 })
    expect(result).toHaveCacheSpeedup({ stat: 'avg', atLeast: 2 })
    expect(result).toMeetSlo({ errorRate: ['rate < 0.01'] })

    const types = result.byDocumentType ?? []
    expect(types.reduce((n, t) => n + t.requests, 0)).toBe(12)
    for (const t of types) expect(['code', 'text']).toContain(t.type)

    // The document opens the conversation; each later turn carries the model's real reply.
    for (const conv of new Set(debug.map((e) => e.session_id))) {
      const turns = debug.filter((e) => e.session_id === conv).sort((a, b) => a.turn_index - b.turn_index)
      expect(turns.map((t) => t.messages.length)).toEqual([1, 3, 5])
      const replies = records.filter((r) => r.sessionId === conv).sort((a, b) => a.turnIndex - b.turnIndex).map((r) => r.outputText)
      expect(turns[2]!.messages[0]).toEqual(turns[0]!.messages[0])
      expect(turns[2]!.messages.filter((m) => m.role === 'assistant').map((m) => m.content)).toEqual(replies.slice(0, 2))
      expect(turns[0]!.messages[0]!.content).toContain(conv.split(':')[1] as string)
    }
  })

  test('prefix cache off: no speedup (ratio well under 1.3)', async () => {
    const { result } = await run({ ...SLOW_PREFILL, prefixCache: false }, { conversations: 3, turns: 2 })
    const avg = result.speedups.find((s) => s.stat === 'avg')
    // Later turns resend the whole document uncached, plus the history: about as slow as turn 1.
    expect(avg?.ratio).toBeLessThan(1.3)
    expect(result).not.toHaveCacheSpeedup({ stat: 'avg', atLeast: 1.3 })
    expect(result.rounds[1]!.cache.cachedShare).toBe(0)
  })

  test('a 400 "context too long" ends that conversation, is counted and explained, and the run goes on', async () => {
    // The mock counts one token per short word: turn 1 of "long" needs ~320 of 410 tokens, turn 2 ~440; "short" needs at most ~380.
    const docs: SeedDocument[] = [
      { name: 'short.txt', path: 'short.txt', type: 'text', extension: 'txt', content: 'tiny note about nothing much at all here '.repeat(1) },
      { name: 'long.md', path: 'long.md', type: 'text', extension: 'md', content: 'alpha '.repeat(200) },
    ]
    const { result, records, notices } = await run({ ...SLOW_PREFILL, prefillTokensPerS: 1e6, maxModelLen: 410 }, { documents: docs, conversations: 2, turns: 3, maxOutputTokens: 100 })
    expect(result.conversations).toEqual({ planned: 2, started: 2, completed: 1, endedByContextLimit: 1 })
    const long = records.filter((r) => r.sessionId.endsWith('long.md'))
    const short = records.filter((r) => r.sessionId.endsWith('short.txt'))
    expect(long.map((r) => [r.turnIndex + 1, r.ok, r.status, r.error?.kind ?? null])).toEqual([[1, true, 200, null], [2, false, 400, 'context_too_long']])
    expect(short.map((r) => r.ok)).toEqual([true, true, true])
    expect(result.rounds[1]!.errors).toEqual([expect.objectContaining({ kind: 'context_too_long', count: 1 })])
    expect(notices.join('\n')).toMatch(/long\.md ended at turn 2: .*context window.*maximum context length is 410/)
  })

  test('the library wrapper multiTurn() runs against an explicit endpoint and works with every matcher', async () => {
    mock = await startMockServer({ port: 0, ...SLOW_PREFILL })
    const result = await multiTurn({ endpoint: `${mock.url}/v1/chat/completions`, conversations: 2, turns: 2, parallel: 1, maxOutputTokens: 8, minDelay: 0, maxDelay: 0, seed: 1 })
    expect(result.rounds).toHaveLength(2)
    expect(result).toHaveCacheSpeedup({ atLeast: 1.5 })
    expect(result).toHaveErrorRate({ below: 0.01 })
  })

  test('bad options name their flag', async () => {
    await expect(runMultiTurn({ endpoint: 'http://127.0.0.1:9/v1/chat/completions', conversations: 0 })).rejects.toThrow(/--conversations/)
    await expect(runMultiTurn({ endpoint: 'http://127.0.0.1:9/v1/chat/completions', minDelay: 2, maxDelay: 1 })).rejects.toThrow(/--max-delay/)
    await expect(runMultiTurn({ endpoint: 'http://127.0.0.1:9/v1/chat/completions', documents: join(tmp, 'missing') })).rejects.toThrow(InputError)
  })
})

describe('seed documents and conversation plans', () => {
  test('classifies by extension; other extensions, empty files and directories are skipped with a notice, README silently', () => {
    const dir = join(tmp, 'docs')
    mkdirSync(join(dir, 'sub'), { recursive: true })
    for (const [name, text] of [['a.py', 'print(1)'], ['b.md', '# hi'], ['c.csv', 'x,y'], ['README.md', 'about'], ['d.txt', '  '], ['e.TSX', 'export {}'], ['.hidden.py', 'x']]) {
      writeFileSync(join(dir, name as string), text as string)
    }
    const notices: string[] = []
    const docs = loadSeedDocuments(dir, (m) => notices.push(m))
    expect(docs.map((d) => [d.name, d.type])).toEqual([['a.py', 'code'], ['b.md', 'text'], ['e.TSX', 'code']])
    expect(notices.join('\n')).not.toMatch(/README/)
    expect(notices.join('\n')).toMatch(/c\.csv.*neither code/)
    expect(notices.join('\n')).toMatch(/d\.txt: empty/)
    expect(notices.join('\n')).toMatch(/sub: a directory/)
    expect(() => loadSeedDocuments(join(dir, 'sub'))).toThrow(/--seed-documents: no seed documents/)
  })

  test('the shipped set has code and text documents and no README among them', () => {
    const docs = loadSeedDocuments(shippedSeedDocumentsDir())
    expect(docs.length).toBeGreaterThanOrEqual(6)
    expect(new Set(docs.map((d) => d.type))).toEqual(new Set(['code', 'text']))
    expect(docs.map((d) => d.name)).not.toContain('README.md')
  })

  test('plans are seeded, and no two conversations open with the same prompt until every pair is used', () => {
    const docs = loadSeedDocuments(shippedSeedDocumentsDir())
    const a = planConversations(docs, 20, createRandom(9)).map(firstMessage)
    const b = planConversations(docs, 20, createRandom(9)).map(firstMessage)
    expect(a).toEqual(b)
    expect(new Set(a).size).toBe(20)
    expect(planConversations(docs, 20, createRandom(10)).map(firstMessage)).not.toEqual(a)
  })
})
