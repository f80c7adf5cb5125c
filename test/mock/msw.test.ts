import { setupServer } from 'msw/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mockEchoTag, mockLlmHandlers } from '../../src/mock/index.ts'
import { FAST, jsonChunks, post, stream, usageOf } from './helpers.ts'

const origin = 'http://llm.test:8000'
const server = setupServer(...mockLlmHandlers({ ...FAST, baseUrl: `${origin}/v1`, model: 'msw-llm' }))

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }))
afterAll(() => server.close())

const messages = [{ role: 'user', content: 'Hi from fetch' }]

describe('msw handlers with globalThis.fetch', () => {
  it('answers /health and /v1/models', async () => {
    expect((await fetch(`${origin}/health`)).status).toBe(200)
    const models: any = await (await fetch(`${origin}/v1/models`)).json()
    expect(models.data[0].id).toBe('msw-llm')
  })

  it('streams a chat completion as SSE, paced by the engine', async () => {
    const r = await stream(`${origin}/v1/chat/completions`, { messages, max_tokens: 5, stream: true, stream_options: { include_usage: true } })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const chunks = jsonChunks(r)
    expect(chunks[0]!.choices[0].delta).toEqual({ role: 'assistant', content: '' })
    expect(r.text.startsWith(mockEchoTag('Hi from fetch', 1))).toBe(true)
    expect(usageOf(r)!.completion_tokens).toBe(5)
    expect(r.done).toBe(true)
  })

  it('serves the Responses API', async () => {
    const r = await stream(`${origin}/v1/responses`, { input: 'Hi from fetch', max_output_tokens: 4, stream: true })
    expect(r.events[0]).toBe('response.created')
    expect(r.events.at(-1)).toBe('response.completed')
    expect(r.text.startsWith(mockEchoTag('Hi from fetch', 1))).toBe(true)
  })

  it('gives the same text as the HTTP server would, non-streaming too', async () => {
    const streamed = await stream(`${origin}/v1/chat/completions`, { messages, max_tokens: 8, stream: true })
    const whole: any = await (await post(`${origin}/v1/chat/completions`, { messages, max_tokens: 8 })).json()
    expect(whole.choices[0].message.content).toBe(streamed.text)
    expect(whole.model).toBe('msw-llm')
  })

  it('reports cached prompt tokens across requests', async () => {
    const prompt = Array.from({ length: 100 }, (_, i) => `w${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`).join(' ')
    await post(`${origin}/v1/completions`, { prompt, max_tokens: 1 }).then((r) => r.json())
    const again: any = await (await post(`${origin}/v1/completions`, { prompt, max_tokens: 1 })).json()
    expect(again.usage.prompt_tokens_details.cached_tokens).toBe(96)
    const stats: any = await (await fetch(`${origin}/stats`)).json()
    expect(stats.cachedTokens).toBe(96)
  })

  it('returns 400s and injected faults like the server', async () => {
    const bad = await post(`${origin}/v1/chat/completions`, '{oops')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as any).error.type).toBe('BadRequestError')
    const limited = await post(`${origin}/v1/chat/completions`, { messages }, { 'x-mock-fault': 'status=429' })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('1')
    // msw turns an errored body into an early end: the stream stops after 3 tokens, without [DONE].
    const dropped = await stream(`${origin}/v1/chat/completions`, { messages, max_tokens: 10, stream: true }, { 'x-mock-fault': 'drop-after=3' })
    expect(dropped.done).toBe(false)
    expect(jsonChunks(dropped).filter((c) => c.choices[0]?.delta?.content)).toHaveLength(3)
    await expect(post(`${origin}/v1/chat/completions`, { messages }, { 'x-mock-fault': 'drop-after=2' })).rejects.toThrow()
  })
})
