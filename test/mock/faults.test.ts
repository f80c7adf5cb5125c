import { afterEach, describe, expect, it } from 'vitest'
import { parseFaults } from '../../src/mock/faults.ts'
import { closeAll, jsonChunks, post, start, stream, usageOf } from './helpers.ts'

afterEach(closeAll)

const body = { messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 10, stream: true, stream_options: { include_usage: true } }
const contentChunks = (r: Awaited<ReturnType<typeof stream>>) => jsonChunks(r).filter((c) => c.choices[0]?.delta?.content)

describe('fault directives', () => {
  it('parses every directive', () => {
    expect(parseFaults('status=503, retry-after=2; stall=100 stall=50@3,drop-after=7,malformed-after=2,no-done')).toEqual({
      status: 503,
      retryAfterS: 2,
      stallFirstByteMs: 100,
      stallMs: 50,
      stallAfterTokens: 3,
      dropAfterTokens: 7,
      malformedAfterTokens: 2,
      noDone: true,
    })
    expect(parseFaults('')).toEqual({})
  })

  it('rejects unknown or bad directives with a message naming them', () => {
    expect(() => parseFaults('explode')).toThrow(/unknown fault "explode"/)
    expect(() => parseFaults('drop-after=x')).toThrow(/drop-after/)
    expect(() => parseFaults('status=200')).toThrow(/status/)
  })
})

describe('error responses', () => {
  it('answers x-mock-fault: status=503 with that status and an OpenAI error body', async () => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/chat/completions`, body, { 'x-mock-fault': 'status=503' })
    expect(res.status).toBe(503)
    expect(((await res.json()) as any).error).toMatchObject({ code: 503, type: 'ServiceUnavailableError' })
    expect(mock.stats().injectedErrors).toBe(1)
  })

  it('answers a forced 429 with Retry-After', async () => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/chat/completions`, body, { 'x-mock-fault': 'status=429, retry-after=3' })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('3')
    expect(((await res.json()) as any).error.type).toBe('RateLimitError')
  })

  it('answers 429 with Retry-After above --rate-limit-rps', async () => {
    // 0.5 requests/s: one request passes, the next ones within two seconds are refused.
    const mock = await start({ rateLimitRps: 0.5 })
    const statuses: number[] = []
    let retryAfter: string | null = null
    for (let i = 0; i < 3; i++) {
      const res = await post(`${mock.url}/v1/chat/completions`, { ...body, stream: false })
      statuses.push(res.status)
      if (res.status === 429) retryAfter = res.headers.get('retry-after')
      await res.arrayBuffer()
    }
    expect(statuses[0]).toBe(200)
    expect(statuses.slice(1)).toContain(429)
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    expect(mock.stats().rateLimited).toBeGreaterThanOrEqual(1)
  })

  it('injects errors at --error-rate with --error-status, reproducibly for a seed', async () => {
    const all = await start({ errorRate: 1, errorStatus: 502 })
    const res = await post(`${all.url}/v1/completions`, { prompt: 'x', max_tokens: 1 })
    expect(res.status).toBe(502)
    expect(((await res.json()) as any).error.code).toBe(502)

    const sequence = async (seed: number) => {
      const mock = await start({ errorRate: 0.5, seed })
      const statuses: number[] = []
      for (let i = 0; i < 20; i++) {
        const r = await post(`${mock.url}/v1/completions`, { prompt: 'x', max_tokens: 1 })
        statuses.push(r.status)
        await r.arrayBuffer()
      }
      return statuses
    }
    const a = await sequence(7)
    expect(a).toContain(500)
    expect(a).toContain(200)
    expect(await sequence(7)).toEqual(a)
  })
})

describe('stream faults', () => {
  it('stalls before the first byte (stall=<ms>)', async () => {
    const mock = await start()
    const started = performance.now()
    const res = await post(`${mock.url}/v1/chat/completions`, body, { 'x-mock-fault': 'stall=250' })
    expect(performance.now() - started).toBeGreaterThanOrEqual(249)
    expect(res.status).toBe(200)
    await res.text()
  })

  it('stalls mid-stream after N tokens (stall=<ms>@<n>)', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/chat/completions`, body, { 'x-mock-fault': 'stall=250@3' })
    expect(contentChunks(r)).toHaveLength(10)
    // Payloads: 0 role, 1..10 tokens. The 4th token cannot come before the stall is over, and the
    // gap between the 3rd and the 4th is the longest of the stream.
    const at = r.at
    expect(at[4]).toBeGreaterThanOrEqual(249)
    const gaps = at.slice(2, 11).map((t, i) => t - at[i + 1]!)
    expect(Math.max(...gaps)).toBe(at[4]! - at[3]!)
    expect(r.done).toBe(true)
  })

  it('drops the connection after N tokens (drop-after=<n>)', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/chat/completions`, body, { 'x-mock-fault': 'drop-after=5' })
    expect(r.status).toBe(200)
    expect(r.error).toBeDefined()
    expect(r.done).toBe(false)
    expect(contentChunks(r)).toHaveLength(5)
    expect(usageOf(r)).toBeUndefined()
    await expect(post(`${mock.url}/v1/chat/completions`, { ...body, stream: false }, { 'x-mock-fault': 'drop-after=5' })).rejects.toThrow()
    expect(mock.stats()).toMatchObject({ running: 0, cancelled: 2 })
  })

  it('sends one malformed JSON chunk and goes on (malformed-after=<n>)', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/chat/completions`, body, { 'x-mock-fault': 'malformed-after=2' })
    const bad = r.data.filter((payload, i) => payload !== '[DONE]' && r.chunks[i] === null)
    expect(bad).toHaveLength(1)
    expect(() => JSON.parse(bad[0]!)).toThrow()
    expect(contentChunks(r)).toHaveLength(10)
    expect(r.done).toBe(true)
  })

  it('ends a stream without [DONE] (no-done)', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/chat/completions`, body, { 'x-mock-fault': 'no-done' })
    expect(r.error).toBeUndefined()
    expect(r.done).toBe(false)
    expect(contentChunks(r)).toHaveLength(10)
    expect(usageOf(r)!.completion_tokens).toBe(10)
  })

  it('applies the --fault option to a --fault-rate share of requests', async () => {
    const always = await start({ fault: 'no-done' })
    expect((await stream(`${always.url}/v1/chat/completions`, body)).done).toBe(false)
    const never = await start({ fault: 'no-done', faultRate: 0 })
    expect((await stream(`${never.url}/v1/chat/completions`, body)).done).toBe(true)
    expect(always.stats().faulted).toBe(1)
    expect(never.stats().faulted).toBe(0)
  })

  it('refuses a bad x-mock-fault header with 400', async () => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/chat/completions`, body, { 'x-mock-fault': 'drop-after=soon' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.message).toMatch(/x-mock-fault.*drop-after/)
  })
})
