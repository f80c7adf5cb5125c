import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import { Http1Pool } from '../../src/client/http1Pool.ts'
import { contextFor, send } from '../helpers/client.ts'

let mock: MockServer
const closers: (() => Promise<void>)[] = []
beforeAll(async () => {
  mock = await startMockServer({ port: 0, itlMs: 1, itlPerSeqMs: 0, baseLatencyMs: 1, jitter: 0 })
})
afterAll(() => mock.close())
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

function client(path = '/v1/chat/completions', overrides: Parameters<typeof contextFor>[1] = {}) {
  const { ctx, endpoint } = contextFor(`${mock.url}${path}`, overrides)
  closers.push(() => endpoint.close())
  return ctx
}

/** A raw server that answers every request with `body` (and records the request headers). */
async function rawServer(body: string | ((res: import('node:http').ServerResponse) => void), contentType = 'text/event-stream'): Promise<{ url: string; headers: IncomingHttpHeaders[] }> {
  const headers: IncomingHttpHeaders[] = []
  const server: Server = createServer((req, res) => {
    headers.push(req.headers)
    req.resume()
    req.on('end', () => {
      if (typeof body === 'function') return body(res)
      res.writeHead(200, { 'content-type': contentType })
      res.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`, headers }
}

describe('sendRequest against the mock', () => {
  test('TTFT is the first content chunk, not the role-only chunk; one offset per content chunk; usage counts', async () => {
    const r = await send(client(), 'hello there')
    expect(r.ok).toBe(true)
    expect(r.outputTokens).toBe(8)
    expect(r.outputTokenSource).toBe('usage')
    expect(r.chunkOffsetsMs).toHaveLength(8)
    expect(r.ttftMs).toBe(r.chunkOffsetsMs[0])
    expect(r.outputText).toMatch(/^\[mock session=/)
    expect(r.finishReason).toBe('length')
    expect(r.tpotMs).not.toBeNull()
    expect(r.latencyMs).toBeGreaterThanOrEqual(r.ttftMs as number)
  })

  test('the server-reported cached prompt tokens are recorded', async () => {
    const ctx = client()
    const prompt = 'shared context '.repeat(200)
    const first = await send(ctx, prompt)
    const second = await send(ctx, prompt)
    expect(first.cachedTokenSource).toBe('usage')
    expect(second.cachedTokens).toBeGreaterThan(first.cachedTokens ?? 0)
  })

  test('several tokens per chunk: the record keeps tokens per chunk so ITL is not inflated', async () => {
    const r = await send(client('/v1/chat/completions', { headers: { 'x-mock-tokens-per-chunk': '3' }, generation: { maxTokens: 10 } }), 'x')
    expect(r.outputTokens).toBe(10)
    expect(r.chunkTokens?.reduce((a, b) => a + b, 0)).toBe(10)
    expect(r.chunkOffsetsMs.length).toBeLessThan(10)
  })

  test('chunk arrays are exactly as long as the chunks that came, more or fewer than max_tokens', async () => {
    const sse = (n: number): string => Array.from({ length: n }, (_, i) =>
      `data: {"choices":[{"index":0,"delta":{"content":"t${i}"},"finish_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":${i + 1},"total_tokens":${i + 2}}}\n\n`).join('') + 'data: [DONE]\n\n'
    const record = async (chunks: number, maxTokens: number) => {
      const server = await rawServer(sse(chunks))
      const { ctx, endpoint } = contextFor(server.url, { generation: { maxTokens } })
      closers.push(() => endpoint.close())
      return send(ctx, 'x')
    }
    // More content chunks than max_tokens (a server that ignores it): the arrays grow past their start size.
    const over = await record(5, 3)
    expect(over.chunkOffsetsMs).toHaveLength(5)
    expect(over.chunkTokens).toEqual([1, 1, 1, 1, 1])
    expect(over.outputText).toBe('t0t1t2t3t4')
    // Fewer than max_tokens: no trailing slots, in memory or in JSON.
    const few = await record(2, 100)
    expect(few.chunkOffsetsMs).toHaveLength(2)
    expect(few.chunkTokens).toEqual([1, 1])
    expect(JSON.parse(JSON.stringify(few))).toMatchObject({ chunkOffsetsMs: few.chunkOffsetsMs, chunkTokens: [1, 1] })
    expect(few.chunkOffsetsMs.every((v, i, a) => Number.isFinite(v) && (i === 0 || v >= (a[i - 1] as number)))).toBe(true)
  })

  test('reasoning deltas count as content for TTFT', async () => {
    const r = await send(client('/v1/chat/completions', { headers: { 'x-mock-reasoning-tokens': '3' } }), 'x')
    expect(r.ok).toBe(true)
    expect(r.chunkOffsetsMs).toHaveLength(8)
    expect(r.ttftMs).toBe(r.chunkOffsetsMs[0])
  })

  test('the completions endpoint and non-streaming requests', async () => {
    const completions = await send(client('/v1/completions'), 'x')
    expect(completions).toMatchObject({ ok: true, outputTokens: 8 })
    const whole = await send(client('/v1/chat/completions', { generation: { stream: false } }), 'x')
    expect(whole).toMatchObject({ ok: true, outputTokens: 8, tpotMs: null })
    expect(whole.ttftMs).toBe(whole.chunkOffsetsMs[0])
  })

  test.each([
    ['drop-after=3', 'server_disconnected'],
    ['malformed-after=2', 'malformed_stream'],
    ['status=503', 'http_error'],
    ['status=429', 'rate_limited'],
  ])('fault %s is recorded as %s', async (fault, kind) => {
    const r = await send(client('/v1/chat/completions', { headers: { 'x-mock-fault': fault } }), 'x')
    expect(r.ok).toBe(false)
    expect(r.error?.kind).toBe(kind)
  })

  test('a stall longer than the timeout is a timeout, not a hang', async () => {
    const r = await send(client('/v1/chat/completions', { timeoutMs: 200, headers: { 'x-mock-fault': 'stall=5000@2' } }), 'x')
    expect(r.error?.kind).toBe('timeout')
  })

  test('a context longer than the model is a context_too_long failure', async () => {
    const small = await startMockServer({ port: 0, maxModelLen: 50 })
    closers.push(() => small.close())
    const { ctx, endpoint } = contextFor(`${small.url}/v1/chat/completions`)
    closers.push(() => endpoint.close())
    const r = await send(ctx, 'word '.repeat(200))
    expect(r.status).toBe(400)
    expect(r.error?.kind).toBe('context_too_long')
  })

  test('429 with Retry-After is retried when asked, and the record says so', async () => {
    const ctx = client('/v1/chat/completions', { retries: 2, headers: { 'x-mock-fault': 'status=429,retry-after=0' } })
    const r = await send(ctx, 'x')
    expect(r.error?.kind).toBe('rate_limited')
    expect(r.retries).toBe(2)
  })
})

describe('sendRequest against other servers', () => {
  test('a closed port is connection_refused naming the URL', async () => {
    const { ctx, endpoint } = contextFor('http://127.0.0.1:9/v1/chat/completions')
    closers.push(() => endpoint.close())
    const r = await send(ctx, 'x')
    expect(r).toMatchObject({ ok: false, status: null, error: { kind: 'connection_refused' } })
    expect(r.error?.message).toContain('http://127.0.0.1:9/v1/chat/completions')
  })

  test('a recorded llama.cpp stream: usage on the finish chunk, cached tokens from timings.prompt_n', async () => {
    const raw = readFileSync(new URL('../../fixtures/real-sse/llamacpp-b4748-chat-stream.txt', import.meta.url), 'utf8')
    const server = await rawServer(raw)
    const { ctx, endpoint } = contextFor(server.url)
    closers.push(() => endpoint.close())
    const r = await send(ctx, 'x')
    expect(r).toMatchObject({ ok: true, inputTokens: 35, outputTokens: 16, outputTokenSource: 'usage', cachedTokens: 0, cachedTokenSource: 'llamacpp_timings', finishReason: 'length' })
    expect(r.chunkOffsetsMs.length).toBeGreaterThan(0)
    expect(r.chunkOffsetsMs.length).toBeLessThanOrEqual(16)
    expect(r.outputText).toContain('Александ')
  })

  test('a stream that opens with an empty content chunk, and vLLM\'s finish and usage chunks', async () => {
    const chunk = (choice: string): string => `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,${choice}}]}\n\n`
    const server = await rawServer(
      chunk('"delta":{"content":""},"logprobs":null,"finish_reason":null') +
      chunk('"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null') +
      chunk('"delta":{"content":""},"logprobs":null,"finish_reason":"length","stop_reason":null') +
      'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":5,"total_tokens":6,"completion_tokens":1}}\n\ndata: [DONE]\n\n',
    )
    const { ctx, endpoint } = contextFor(server.url)
    closers.push(() => endpoint.close())
    const r = await send(ctx, 'x')
    expect(r).toMatchObject({ ok: true, outputText: 'Hi', inputTokens: 5, outputTokens: 1, inputTokenSource: 'usage', outputTokenSource: 'usage', finishReason: 'length' })
    expect(r.chunkOffsetsMs).toHaveLength(1)
  })

  test('without usage the tokenizer counts, and the record says so', async () => {
    const server = await rawServer('data: {"choices":[{"delta":{"content":"hello world"}}]}\n\ndata: [DONE]\n\n')
    const { ctx, endpoint } = contextFor(server.url)
    closers.push(() => endpoint.close())
    const r = await send(ctx, 'x')
    expect(r).toMatchObject({ ok: true, outputTokens: 2, outputTokenSource: 'tokenizer', inputTokenSource: 'tokenizer' })
  })

  test('a tokenizer that throws while the record is built rejects the request instead of leaving it pending', async () => {
    const server = await rawServer('data: {"choices":[{"delta":{"content":"hello world"}}]}\n\ndata: [DONE]\n\n')
    const { ctx, endpoint } = contextFor(server.url)
    closers.push(() => endpoint.close())
    const broken = { ...ctx.tokenizer, count: (): number => { throw new Error('tokenizer broke') } }
    await expect(send({ ...ctx, tokenizer: broken }, 'x')).rejects.toThrow('tokenizer broke')
  })

  test('a wait for a free connection is queuedMs, not TTFT or latency', async () => {
    const server = await rawServer((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n')
      setTimeout(() => res.end('data: [DONE]\n\n'), 60)
    })
    const { ctx, endpoint } = contextFor(server.url)
    closers.push(() => endpoint.close())
    const pool = new Http1Pool(new URL(server.url).origin, { connections: 1, keepAliveTimeoutMs: 5_000, connectTimeoutMs: 5_000 })
    closers.push(() => pool.close())
    const one = { ...ctx, dispatcher: pool }
    const [first, second] = await Promise.all([send(one, 'x'), send(one, 'y')])
    expect(first?.ok && second?.ok).toBe(true)
    // The second waited for the first's response (held 60 ms by the server): that wait is queuedMs, and
    // its own clock started when it was written, so its TTFT (answered at once) is shorter than the wait.
    expect(second?.queuedMs ?? 0).toBeGreaterThan(40)
    expect(second?.startedAt ?? 0).toBeGreaterThan((first?.startedAt ?? 0) + 40)
    expect(second?.ttftMs ?? Infinity).toBeLessThan(second?.queuedMs ?? 0)
  })

  test('a 1 MB chunk is read whole', async () => {
    const big = 'x'.repeat(1024 * 1024)
    const server = await rawServer(`data: {"choices":[{"delta":{"content":"${big}"}}],"usage":null}\n\ndata: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\ndata: [DONE]\n\n`)
    const { ctx, endpoint } = contextFor(server.url)
    closers.push(() => endpoint.close())
    const r = await send(ctx, 'x')
    expect(r.ok).toBe(true)
    expect(r.outputText.length).toBe(big.length)
  })

  test('an HTML error page with a 502 is an http_error carrying the start of the page', async () => {
    const server = await rawServer((res) => {
      res.writeHead(502, { 'content-type': 'text/html' })
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>')
    })
    const { ctx, endpoint } = contextFor(server.url)
    closers.push(() => endpoint.close())
    const r = await send(ctx, 'x')
    expect(r).toMatchObject({ ok: false, status: 502, error: { kind: 'http_error' } })
    expect(r.error?.message).toContain('502 Bad Gateway')
  })

  test('an HTML error page with status 200 is a bad content type', async () => {
    const server = await rawServer('<html>oops</html>', 'text/html')
    const { ctx, endpoint } = contextFor(server.url)
    closers.push(() => endpoint.close())
    expect((await send(ctx, 'x')).error?.kind).toBe('bad_content_type')
  })

  test('a server echoing the Authorization header in its error body cannot leak the key', async () => {
    const server = await rawServer((res) => {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: `bad credentials: ${server.headers.at(-1)?.authorization} / ${server.headers.at(-1)?.['x-secret']}` }))
    })
    const { ctx, endpoint } = contextFor(server.url, { apiKey: 'sk-echoed-777', headers: { 'X-Secret': 'hunter2-token' } })
    closers.push(() => endpoint.close())
    const r = await send({ ...ctx, secrets: [...endpoint.secrets, 'hunter2-token'] }, 'x')
    expect(r.error?.kind).toBe('http_error')
    expect(r.error?.message).toContain('[redacted]')
    expect(r.error?.message).not.toContain('sk-echoed-777')
    expect(r.error?.message).not.toContain('hunter2-token')
  })

  test('the API key and extra headers are sent', async () => {
    const server = await rawServer('data: [DONE]\n\n')
    const { ctx, endpoint } = contextFor(server.url, { apiKey: 'sk-test-123', headers: { 'X-Team': 'perf' } })
    closers.push(() => endpoint.close())
    await send(ctx, 'x')
    expect(server.headers[0]?.authorization).toBe('Bearer sk-test-123')
    expect(server.headers[0]?.['x-team']).toBe('perf')
  })
})
