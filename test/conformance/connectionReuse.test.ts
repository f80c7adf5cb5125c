import { afterEach, describe, expect, test } from 'vitest'
import { openEndpoint, requestContext, sendRequest } from '../../src/client/index.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import { runDualRound } from '../../src/workloads/index.ts'
import type { Conversation, RequestRecord, RunResult } from '../../src/types.ts'
import { sseServer } from '../helpers/sseServer.ts'
import type { ConnectionPolicy, SseServer } from '../helpers/sseServer.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function server(policy: ConnectionPolicy): Promise<SseServer> {
  const s = await sseServer(policy)
  cleanups.push(() => s.close())
  return s
}

const prompts: Conversation[] = Array.from({ length: 6 }, (_, i) => ({ sessionId: `s${i}`, userMessages: [`question ${i}`], source: `test:${i + 1}` }))

function failures(run: RunResult): number {
  return run.rounds.reduce((n, r) => n + r.failed, 0)
}

/** Sends `n` requests one after another through one endpoint, `gapMs` apart. */
async function sequential(url: string, n: number, gapMs = 0, keepAliveTimeoutMs?: number): Promise<{ records: RequestRecord[]; transport: ReturnType<ReturnType<typeof openEndpoint>['transport']> }> {
  const endpoint = openEndpoint({ url, connections: 1, keepAliveTimeoutMs })
  cleanups.push(() => endpoint.close())
  const ctx = requestContext(endpoint, { model: 'm', maxTokens: 3 }, await getTokenizer())
  const records: RequestRecord[] = []
  for (let i = 0; i < n; i++) {
    if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs))
    records.push(await sendRequest(ctx, [{ role: 'user', content: `q${i}` }], { id: `r${i}`, index: i, sessionId: `s${i}`, turnIndex: 0, round: 1, concurrency: 1 }))
  }
  return { records, transport: endpoint.transport() }
}

describe('a server that closes after every streamed response while advertising keep-alive (llama.cpp)', () => {
  test('FIN with the last bytes: no request is lost, and reuse stops', async () => {
    const s = await server({ closeAfterResponse: true, keepAliveHeader: 'timeout=5, max=100' })
    const run = await runDualRound({ endpoint: s.url, dataset: prompts, concurrency: [1, 3], seed: 1 })
    expect(failures(run)).toBe(0)
    expect(s.answered()).toBe(prompts.length * 4)
    expect(run.transport?.client).toBe('fluxperf-http1')
    expect(run.transport?.connections?.learnedIdleLimitMs).toBe(0)
  })

  test('FIN a little after the response: the request written meanwhile is re-sent once, timed from its first send', async () => {
    const s = await server({ closeAfterResponse: true, closeDelayMs: 100, keepAliveHeader: 'timeout=5, max=100' })
    const { records, transport } = await sequential(s.url, 4)
    expect(records.filter((r) => !r.ok)).toEqual([])
    // The second request went out on the connection the server was closing; after that, none is reused.
    expect(records[1]?.resent).toBe(true)
    expect(records.slice(2).some((r) => r.resent)).toBe(false)
    expect(transport.connections?.learnedIdleLimitMs).toBe(0)
    // Timed from the first send: most of the server's 100 ms wait before its close is inside the second
    // request's latency (a lower bound from the injected delay, not a comparison of two measured times).
    expect(records[1]?.latencyMs).toBeGreaterThanOrEqual(50)
  })
})

describe('Keep-Alive hints', () => {
  test('timeout=1 (at or under the 1 s margin) means no reuse', async () => {
    const s = await server({ keepAliveHeader: 'timeout=1', idleTimeoutMs: 1000 })
    const { records, transport } = await sequential(s.url, 3)
    expect(records.every((r) => r.ok)).toBe(true)
    expect(transport.connections).toMatchObject({ reused: 0, opened: 3 })
    expect(s.accepted()).toBe(3)
  })

  test('timeout=5 is honoured: connections are reused', async () => {
    const s = await server({ keepAliveHeader: 'timeout=5' })
    const { records, transport } = await sequential(s.url, 3)
    expect(records.every((r) => r.ok)).toBe(true)
    expect(transport.connections).toMatchObject({ reused: 2, opened: 1 })
  })

  test('Connection: close on a response is never reused', async () => {
    const s = await server({})
    const endpoint = openEndpoint({ url: s.url, connections: 1, keepAlive: false })
    cleanups.push(() => endpoint.close())
    const ctx = requestContext(endpoint, { model: 'm' }, await getTokenizer())
    for (let i = 0; i < 3; i++) expect((await sendRequest(ctx, [{ role: 'user', content: 'q' }], { id: `${i}`, index: i, sessionId: 's', turnIndex: 0, round: 1, concurrency: 1 })).ok).toBe(true)
    expect(s.accepted()).toBe(3)
  })
})

describe('a server that closes idle connections without a hint (uvicorn)', () => {
  test('a close seen while idle shortens reuse; no request fails', async () => {
    const s = await server({ idleTimeoutMs: 150 })
    const { records, transport } = await sequential(s.url, 3, 250, 10_000)
    expect(records.every((r) => r.ok)).toBe(true)
    expect(transport.connections?.closedByServerWhileIdle).toBeGreaterThanOrEqual(1)
    expect(transport.connections?.learnedIdleLimitMs).toBe(0)
  })

  test('the default idle time (4 s) is under uvicorn\'s 5 s', () => {
    const endpoint = openEndpoint({ url: 'http://127.0.0.1:9/v1/chat/completions' })
    cleanups.push(() => endpoint.close())
    expect(endpoint.transport().idleTimeoutMs).toBeLessThan(5000)
  })

  test('a reused connection closed as the request goes out: re-sent once on a new connection, recorded, not a failure', async () => {
    let drops = 1
    const s = await server({ drop: ({ reused }) => reused && drops-- > 0 })
    const { records, transport } = await sequential(s.url, 3)
    expect(records.map((r) => r.ok)).toEqual([true, true, true])
    expect(records.map((r) => r.resent === true)).toEqual([false, true, false])
    expect(s.dropped()).toBe(1)
    // It closed a connection idle for about 0 ms: from then on none is reused.
    expect(transport.connections).toMatchObject({ opened: 3, reused: 1, learnedIdleLimitMs: 0 })
  })

  test('a server that drops every request: a fresh connection is not re-sent, a reused one once, and both fail', async () => {
    const s = await server({ drop: () => true })
    const { records } = await sequential(s.url, 1)
    expect(records[0]).toMatchObject({ ok: false, error: { kind: 'server_disconnected' } })
    expect(records[0]?.resent).toBeUndefined()
    expect(s.dropped()).toBe(1)
  })

  test('a reused connection re-sent and dropped again fails after exactly one re-send', async () => {
    const s = await server({ drop: ({ index }) => index > 0 })
    const { records } = await sequential(s.url, 2)
    expect(records[0]?.ok).toBe(true)
    expect(records[1]).toMatchObject({ ok: false, resent: true, error: { kind: 'server_disconnected' } })
    expect(s.dropped()).toBe(2)
  })
})
