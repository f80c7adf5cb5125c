import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { openEndpoint } from '../../src/client/index.ts'
import { detectEngine, ENGINES } from '../../src/engines/index.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

type Route = (req: IncomingMessage) => { status: number; body: string; headers?: Record<string, string> } | undefined

/** An imitation of an engine's HTTP surface on 127.0.0.1:0; records every request line. */
async function engineServer(route: Route, prefix = ''): Promise<{ endpoint: ReturnType<typeof openEndpoint>; calls: string[] }> {
  const calls: string[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    calls.push(`${req.method} ${req.url}`)
    const path = (req.url ?? '').slice(prefix.length)
    const answer = route({ ...req, url: path } as IncomingMessage) ?? { status: 404, body: '{"detail":"Not Found"}' }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
    res.end(answer.body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const endpoint = openEndpoint({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}/v1/chat/completions`, proxy: false })
  cleanups.push(async () => {
    await endpoint.close()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return { endpoint, calls }
}

const models = (ownedBy: string): string => JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model', owned_by: ownedBy }] })

describe('detectEngine', () => {
  test.each([
    ['vllm', 'vllm'],
    ['sglang', 'sglang'],
    ['llamacpp', 'llamacpp'],
    ['fluxperf', 'mock'],
  ])('owned_by "%s" in /v1/models is %s', async (owner, name) => {
    const { endpoint } = await engineServer((req) => (req.url === '/v1/models' ? { status: 200, body: models(owner) } : undefined))
    expect(await detectEngine(endpoint)).toEqual({ name, evidence: `owned_by "${owner}" in /v1/models` })
  })

  test('metric names in /metrics, behind a path prefix', async () => {
    const { endpoint, calls } = await engineServer((req) => (req.url === '/metrics' ? { status: 200, body: '# TYPE tgi_queue_size gauge\ntgi_queue_size 0\n' } : undefined), '/llm')
    expect(await detectEngine(endpoint)).toMatchObject({ name: 'tgi' })
    expect(calls).toContain('GET /llm/metrics')
  })

  test('a Server: llama.cpp header', async () => {
    const { endpoint } = await engineServer((req) => (req.url === '/v1/models' ? { status: 200, body: models('someone'), headers: { server: 'llama.cpp' } } : undefined))
    expect(await detectEngine(endpoint)).toMatchObject({ name: 'llamacpp' })
  })

  test('an unknown server is undefined, not a guess', async () => {
    const { endpoint } = await engineServer((req) => (req.url === '/v1/models' ? { status: 200, body: models('acme') } : undefined))
    expect(await detectEngine(endpoint)).toBeUndefined()
  })
})

describe('cache reset per engine', () => {
  test('vLLM: POST /reset_prefix_cache; a 404 names VLLM_SERVER_DEV_MODE', async () => {
    const ok = await engineServer((req) => (req.method === 'POST' && req.url === '/reset_prefix_cache' ? { status: 200, body: '' } : undefined))
    expect(await ENGINES.vllm.resetCache(ok.endpoint)).toMatchObject({ attempted: true, ok: true })
    const refused = await engineServer(() => undefined)
    const outcome = await ENGINES.vllm.resetCache(refused.endpoint)
    expect(outcome).toMatchObject({ attempted: true, ok: false })
    expect(outcome.message).toMatch(/HTTP 404 \("Not Found"\).*VLLM_SERVER_DEV_MODE=1/)
  })

  test('SGLang: POST /flush_cache', async () => {
    const { endpoint, calls } = await engineServer((req) => (req.url === '/flush_cache' ? { status: 200, body: 'Cache flushed.' } : undefined))
    expect(await ENGINES.sglang.resetCache(endpoint)).toMatchObject({ ok: true })
    expect(calls).toEqual(['POST /flush_cache'])
  })

  test('llama.cpp: every slot erased; the slots are its prompt capacity', async () => {
    const { endpoint, calls } = await engineServer((req) => {
      if (req.url === '/slots') return { status: 200, body: JSON.stringify([{ id: 0 }, { id: 1 }, { id: 2 }]) }
      if (req.method === 'POST' && /^\/slots\/\d\?action=erase$/.test(req.url ?? '')) return { status: 200, body: '{"n_erased":10}' }
      return undefined
    })
    expect(await ENGINES.llamacpp.resetCache(endpoint)).toMatchObject({ ok: true })
    expect(calls.filter((c) => c.startsWith('POST'))).toEqual(['POST /slots/0?action=erase', 'POST /slots/1?action=erase', 'POST /slots/2?action=erase'])
    expect(await ENGINES.llamacpp.promptCapacity?.(endpoint)).toBe(3)
  })

  test('llama.cpp refusing (501 without --slot-save-path): its own message and the flag to start it with', async () => {
    const { endpoint } = await engineServer((req) => {
      if (req.url === '/slots') return { status: 200, body: JSON.stringify([{ id: 0 }]) }
      if (req.method === 'POST') return { status: 501, body: JSON.stringify({ error: { code: 501, message: 'This server does not support slots action.', type: 'not_supported_error' } }) }
      return undefined
    })
    const outcome = await ENGINES.llamacpp.resetCache(endpoint)
    expect(outcome.ok).toBe(false)
    expect(outcome.message).toMatch(/HTTP 501 \("This server does not support slots action\."\).*--slot-save-path/)
  })

  test('llama.cpp without --slots: says so', async () => {
    const { endpoint } = await engineServer(() => ({ status: 501, body: '{"error":{"message":"This server does not support slots endpoint."}}' }))
    expect((await ENGINES.llamacpp.resetCache(endpoint)).message).toMatch(/--slots/)
    expect(await ENGINES.llamacpp.promptCapacity?.(endpoint)).toBeUndefined()
  })

  test('TGI and Ollama: no API, said plainly, nothing sent', async () => {
    const { endpoint, calls } = await engineServer(() => undefined)
    expect(await ENGINES.tgi.resetCache(endpoint)).toMatchObject({ attempted: true, ok: false, message: expect.stringMatching(/TGI has no API/) })
    expect(await ENGINES.ollama.resetCache(endpoint)).toMatchObject({ ok: false, message: expect.stringMatching(/Ollama has no API/) })
    expect(calls).toEqual([])
  })
})

describe('resetCache in a run', () => {
  test('a detected vLLM is reset before each cold round; the outcome is kept with the round and the engine in the result', async () => {
    const { sseServer } = await import('../helpers/sseServer.ts')
    const { runDualRound } = await import('../../src/workloads/index.ts')
    const s = await sseServer({ ownedBy: 'vllm' })
    cleanups.push(() => s.close())
    const dataset = [{ sessionId: 'a', userMessages: ['q'], source: 't:1' }]
    const run = await runDualRound({ endpoint: s.url, dataset, concurrency: [1, 2], resetCache: true, resetCacheBetweenRounds: true, proxy: false, seed: 1 })
    expect(run.engine).toEqual({ name: 'vllm', evidence: 'owned_by "vllm" in /v1/models' })
    expect(s.resets()).toBe(2)
    expect(run.rounds.filter((r) => r.round === 1).map((r) => r.cacheReset?.ok)).toEqual([true, true])
  })

  test('without resetCache nothing is sent', async () => {
    const { sseServer } = await import('../helpers/sseServer.ts')
    const { runDualRound } = await import('../../src/workloads/index.ts')
    const s = await sseServer({ ownedBy: 'vllm' })
    cleanups.push(() => s.close())
    await runDualRound({ endpoint: s.url, dataset: [{ sessionId: 'a', userMessages: ['q'], source: 't:1' }], proxy: false, seed: 1 })
    expect(s.resets()).toBe(0)
  })
})
