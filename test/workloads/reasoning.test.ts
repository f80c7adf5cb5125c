// Reasoning against known truth: the mock thinks for R tokens at a fixed inter-token latency i, so the answer's
// first token comes R·i after the first token; the same runs over Chat Completions and the Responses API agree.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import type { DualRoundResult, MultiTurnResult, RequestRecord } from '../../src/types.ts'
import { runDualRound, runMultiTurn } from '../../src/workloads/index.ts'
import { runCli } from '../helpers/cli.ts'

const R = 24
const ITL = 10
const OUT = 40
let mock: MockServer
const out = mkdtempSync(join(tmpdir(), 'fluxperf-reasoning-'))
beforeAll(async () => {
  mock = await startMockServer({ jitter: 0, reasoningTokens: R, itlMs: ITL, itlPerSeqMs: 0 })
})
afterAll(async () => {
  await mock.close()
  rmSync(out, { recursive: true, force: true })
})

async function dual(api: 'chat' | 'responses'): Promise<{ run: DualRoundResult; records: RequestRecord[] }> {
  const records: RequestRecord[] = []
  const path = api === 'chat' ? '/v1/chat/completions' : '/v1/responses'
  const run = await runDualRound({
    endpoint: mock.url + path, dataset: 'fluxperf:example', concurrency: [2], maxOutputTokens: OUT, seed: 3,
    resetCacheUrl: `${mock.url}/reset_prefix_cache`, hooks: { onRequest: (r) => records.push(r) },
  })
  return { run, records }
}

describe('reasoning against the mock', () => {
  let chat: { run: DualRoundResult; records: RequestRecord[] }
  beforeAll(async () => {
    // toMeetSlo below rightly refuses a run whose client was saturated; one stall of a loaded 2-core machine
    // can be the p99 of this short run, so a saturated measurement is taken again (twice at most).
    for (let attempt = 0; attempt < 3; attempt++) {
      chat = await dual('chat')
      if (!chat.run.client.saturated) break
    }
  }, 120_000)

  test('time to first answer token − TTFT ≈ R·i, reasoning and answer tokens exact', () => {
    const ok = chat.records.filter((r) => r.ok)
    expect(ok.length).toBe(chat.records.length)
    for (const r of ok) {
      expect(r.reasoning).toMatchObject({ tokens: R, tokenSource: 'usage' })
      expect(r.outputTokens).toBe(OUT)
      // R intervals of i ms; the client's error is ms, a loaded machine adds some: generous bounds.
      expect(r.ttfatMs! - r.ttftMs!).toBeGreaterThanOrEqual(R * ITL * 0.9)
      expect(r.ttfatMs! - r.ttftMs!).toBeLessThan(R * ITL * 2)
    }
    const round = chat.run.rounds[0]!
    expect(round.metrics.reasoningTokens).toMatchObject({ min: R, max: R })
    expect(round.metrics.answerTokens).toMatchObject({ min: OUT - R, max: OUT - R })
    expect(round.metrics.reasoningTpot!.p50).toBeGreaterThanOrEqual(ITL * 0.9)
    expect(round.metrics.reasoningTpot!.p50).toBeLessThan(ITL * 2)
  })

  test('toMeetSlo on ttfat and reasoningTime passes and fails on the two sides of the known value', () => {
    const known = R * ITL
    expect(chat.run).toMeetSlo({ ttfat: [`p(90) < ${known * 4}`], reasoningTime: [`p(50) < ${known * 2}`, `p(50) > ${known * 0.9}`] })
    expect(() => expect(chat.run).toMeetSlo({ ttfat: [`p(90) < ${known * 0.8}`] })).toThrow(/ttfat\s+p\(90\)/)
    expect(() => expect(chat.run).toMeetSlo({ reasoningTime: [`p(50) < ${known * 0.8}`] })).toThrow(/reasoningTime/)
  })

  test('the same dual-round run over the Responses API: the same requests, tokens and phases within noise', async () => {
    const responses = await dual('responses')
    const a = chat.run.rounds
    const b = responses.run.rounds
    expect(b.map((r) => [r.label, r.total, r.succeeded])).toEqual(a.map((r) => [r.label, r.total, r.succeeded]))
    for (let i = 0; i < a.length; i++) {
      expect(b[i]!.avgInputTokens).toBe(a[i]!.avgInputTokens)
      expect(b[i]!.avgOutputTokens).toBe(a[i]!.avgOutputTokens)
      expect(b[i]!.metrics.reasoningTokens).toEqual(a[i]!.metrics.reasoningTokens)
      const ratio = b[i]!.metrics.reasoningTime!.p50 / a[i]!.metrics.reasoningTime!.p50
      expect(ratio).toBeGreaterThan(0.7)
      expect(ratio).toBeLessThan(1.4)
    }
    // The warm round finds the cold round's prompts cached, as over chat.
    expect(b[1]!.cache.cachedShare).toBeGreaterThan(0.5)
    expect(responses.records.every((r) => r.ok && r.reasoning?.tokenSource === 'usage')).toBe(true)
  }, 120_000)

  test('multi-turn over the Responses API carries the history as input items: later turns hit the cache as over chat', async () => {
    const run = (path: string): Promise<MultiTurnResult> => runMultiTurn({
      endpoint: mock.url + path, conversations: 2, turns: 3, parallel: 2, minDelay: 0, maxDelay: 0, maxOutputTokens: 32, seed: 5,
      documents: 'fluxperf:seed-documents', resetCacheUrl: `${mock.url}/reset_prefix_cache`,
    })
    const viaChat = await run('/v1/chat/completions')
    const viaResponses = await run('/v1/responses')
    const later = (r: MultiTurnResult) => r.rounds.find((x) => x.round === 2)!
    expect(later(viaResponses).succeeded).toBe(later(viaChat).succeeded)
    expect(later(viaResponses).avgInputTokens).toBe(later(viaChat).avgInputTokens)
    expect(later(viaResponses).cache.cachedShare).toBeCloseTo(later(viaChat).cache.cachedShare!, 1)
  }, 120_000)
})

describe('the Responses API end to end', () => {
  test('a /v1/responses endpoint finds the served model under /v1/models (a strict server 404s any other)', async () => {
    const strict = await startMockServer({ jitter: 0, model: 'served-model', strictModel: true })
    try {
      const run = await runDualRound({ endpoint: `${strict.url}/v1/responses`, dataset: 'fluxperf:example', concurrency: [1], samples: 2, maxOutputTokens: 4, seed: 1 })
      expect(run.model).toBe('served-model')
      expect(run.rounds.every((r) => r.failed === 0 && r.succeeded > 0)).toBe(true)
      expect(run.config).toMatchObject({ api: 'responses' })
    } finally {
      await strict.close()
    }
  })

  test('`api` switches the endpoint in the run* functions too, and the CLI multi-turn base URL follows --api', async () => {
    const notices: string[] = []
    const run = await runDualRound({ endpoint: `${mock.url}/v1/chat/completions`, api: 'responses', dataset: 'fluxperf:example', concurrency: [1], samples: 1, maxOutputTokens: 4, seed: 1, hooks: { onNotice: (m) => notices.push(m) } })
    expect(run.endpoint).toBe(`${mock.url}/v1/responses`)
    expect(notices.join('\n')).toMatch(/is the chat endpoint; with the responses API, requests go to/)
    const cli = await runCli(['multi-turn', `${mock.url}/v1`, '--api', 'responses', '-c', '1', '-t', '1', '-p', '1', '-m', '4', '--seed', '1', '--no-progress', '--no-report', '--output-dir', join(out, 'mt')])
    expect(cli.code, cli.stderr).toBe(0)
    expect((JSON.parse(readFileSync(join(out, 'mt', 'run.json'), 'utf8')) as { endpoint: string }).endpoint).toBe(`${mock.url}/v1/responses`)
  }, 60_000)
})
