import { afterEach, describe, expect, it } from 'vitest'
import { mockEchoTag } from '../../src/mock/index.ts'
import { closeAll, jsonChunks, post, start, stream, usageOf } from './helpers.ts'

afterEach(closeAll)

const hello = [{ role: 'user', content: 'Hello there, how are you?' }]

describe('routes', () => {
  it('answers /health with 200', async () => {
    const mock = await start()
    const res = await fetch(`${mock.url}/health`)
    expect(res.status).toBe(200)
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(mock.port).toBeGreaterThan(0)
  })

  it('lists the model in OpenAI list shape, default id mock-llm', async () => {
    const mock = await start()
    const body: any = await (await fetch(`${mock.url}/v1/models`)).json()
    expect(body.object).toBe('list')
    expect(body.data).toHaveLength(1)
    expect(body.data[0]).toMatchObject({ id: 'mock-llm', object: 'model', max_model_len: 32768 })
  })

  it('serves the model id it was given', async () => {
    const mock = await start({ model: 'tiny-llama' })
    const body: any = await (await fetch(`${mock.url}/v1/models`)).json()
    expect(body.data[0].id).toBe('tiny-llama')
  })

  it('answers unknown routes with 404 and wrong methods with 405, OpenAI-style', async () => {
    const mock = await start()
    const missing = await fetch(`${mock.url}/v2/nothing`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as any).error).toMatchObject({ type: 'NotFoundError', code: 404 })
    expect((await fetch(`${mock.url}/v1/chat/completions`)).status).toBe(405)
  })
})

describe('streaming chat completions', () => {
  it('opens with a role-only chunk, then content, a usage chunk and [DONE]', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/chat/completions`, {
      model: 'whatever',
      messages: hello,
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const chunks = jsonChunks(r)
    expect(chunks[0]).toMatchObject({
      object: 'chat.completion.chunk',
      model: 'whatever',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    })
    expect(chunks[0]!.id).toMatch(/^chatcmpl-/)
    const content = chunks.slice(1, -1)
    expect(content).toHaveLength(6)
    expect(content.every((c) => typeof c.choices[0].delta.content === 'string' && c.choices[0].delta.content !== '')).toBe(true)
    expect(content.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true)
    expect(content.at(-1)!.choices[0].finish_reason).toBe('length')
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1)
    const usage = chunks.at(-1)!
    expect(usage.choices).toEqual([])
    expect(usage.usage).toMatchObject({ completion_tokens: 6, prompt_tokens_details: { cached_tokens: 0 } })
    expect(usage.usage.total_tokens).toBe(usage.usage.prompt_tokens + 6)
    expect(r.data.at(-1)).toBe('[DONE]')
    expect(r.done).toBe(true)
  })

  it('sends no usage chunk unless asked', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/chat/completions`, { messages: hello, max_tokens: 3, stream: true })
    expect(usageOf(r)).toBeUndefined()
    expect(jsonChunks(r)).toHaveLength(4)
    expect(r.done).toBe(true)
  })

  it('echoes session and turn first: session from x-session-id, user, or the first user message', async () => {
    const mock = await start()
    const url = `${mock.url}/v1/chat/completions`
    const turns = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'an answer' },
      { role: 'user', content: 'second question' },
    ]
    const byMessage = await stream(url, { messages: turns, max_tokens: 2, stream: true })
    expect(byMessage.text.startsWith(mockEchoTag('first question', 2))).toBe(true)
    const byUser = await stream(url, { messages: turns, user: 'alice', max_tokens: 2, stream: true })
    expect(byUser.text.startsWith(mockEchoTag('alice', 2))).toBe(true)
    const byHeader = await stream(url, { messages: turns, user: 'alice', max_tokens: 2, stream: true }, { 'x-session-id': 's-42' })
    expect(byHeader.text.startsWith('[mock session=')).toBe(true)
    expect(byHeader.text.startsWith(mockEchoTag('s-42', 2))).toBe(true)
  })

  it('gives the same text to the same request, and different text to another turn', async () => {
    const mock = await start()
    const url = `${mock.url}/v1/chat/completions`
    const body = { messages: hello, max_tokens: 20, stream: true }
    const a = await stream(url, body)
    const b = await stream(url, body)
    expect(a.text).toBe(b.text)
    const c = await stream(url, { ...body, messages: [...hello, { role: 'assistant', content: a.text }, { role: 'user', content: 'more' }] })
    expect(c.text).not.toBe(a.text)
  })

  it('honours max_tokens and max_completion_tokens exactly', async () => {
    const mock = await start()
    const url = `${mock.url}/v1/chat/completions`
    for (const n of [1, 2, 17, 50]) {
      const r = await stream(url, { messages: hello, max_tokens: n, stream: true, stream_options: { include_usage: true } })
      expect(usageOf(r)!.completion_tokens).toBe(n)
      expect(jsonChunks(r).filter((c) => c.choices[0]?.delta?.content)).toHaveLength(n)
    }
    const r = await stream(url, { messages: hello, max_completion_tokens: 9, max_tokens: 99, stream: true, stream_options: { include_usage: true } })
    expect(usageOf(r)!.completion_tokens).toBe(9)
  })

  it('generates defaultMaxTokens (128) with finish_reason stop when no limit is set', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/chat/completions`, { messages: hello, stream: true, stream_options: { include_usage: true } })
    expect(usageOf(r)!.completion_tokens).toBe(128)
    const last = jsonChunks(r).filter((c) => c.choices.length > 0).at(-1)!
    expect(last.choices[0].finish_reason).toBe('stop')
  })

  it('puts cumulative usage on every chunk with continuous_usage_stats', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/chat/completions`, {
      messages: hello,
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    })
    const chunks = jsonChunks(r)
    expect(chunks.every((c) => c.usage !== undefined)).toBe(true)
    expect(chunks.map((c) => c.usage.completion_tokens)).toEqual([0, 1, 2, 3, 4, 5, 5])
    const prompt = chunks[0]!.usage.prompt_tokens
    expect(chunks.every((c) => c.usage.prompt_tokens === prompt && c.usage.total_tokens === prompt + c.usage.completion_tokens)).toBe(true)
  })

  it('emits several tokens per chunk from the option or the x-mock-tokens-per-chunk header', async () => {
    const body = { messages: hello, max_tokens: 10, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } }
    const counts = (r: Awaited<ReturnType<typeof stream>>) =>
      jsonChunks(r)
        .filter((c) => c.choices[0]?.delta?.content)
        .map((c) => c.usage.completion_tokens)
    const mock = await start()
    const byHeader = await stream(`${mock.url}/v1/chat/completions`, body, { 'x-mock-tokens-per-chunk': '3' })
    // The first token comes out of the prefill alone, then 3 per step, the last step what is left.
    expect(counts(byHeader)).toEqual([1, 4, 7, 10])
    const other = await start({ tokensPerChunk: 4 })
    const byOption = await stream(`${other.url}/v1/chat/completions`, body)
    expect(counts(byOption)).toEqual([1, 5, 9, 10])
    expect(usageOf(byOption)!.completion_tokens).toBe(10)
  })

  it('streams reasoning_content deltas for the first N tokens, then content with the echo tag', async () => {
    const mock = await start()
    const r = await stream(
      `${mock.url}/v1/chat/completions`,
      { messages: hello, max_tokens: 8, stream: true, stream_options: { include_usage: true } },
      { 'x-mock-reasoning-tokens': '3' },
    )
    const deltas = jsonChunks(r)
      .filter((c) => c.choices.length > 0)
      .slice(1)
      .map((c) => c.choices[0].delta)
    expect(deltas.slice(0, 3).every((d) => d.reasoning_content && d.content === undefined)).toBe(true)
    expect(deltas.slice(3).every((d) => d.content && d.reasoning_content === undefined)).toBe(true)
    expect(r.text.startsWith(mockEchoTag('Hello there, how are you?', 1))).toBe(true)
    expect(usageOf(r)!.completion_tokens).toBe(8)
    const whole: any = await (await post(`${mock.url}/v1/chat/completions`, { messages: hello, max_tokens: 8 }, { 'x-mock-reasoning-tokens': '3' })).json()
    expect(whole.choices[0].message.reasoning_content).toBe(r.reasoning)
    expect(whole.choices[0].message.content).toBe(r.text)
  })
})

describe('completions', () => {
  it('streams text_completion chunks without a role chunk', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/completions`, {
      prompt: 'Once upon a time',
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    })
    const chunks = jsonChunks(r)
    expect(chunks).toHaveLength(5)
    expect(chunks[0]).toMatchObject({ object: 'text_completion', choices: [{ index: 0, finish_reason: null }] })
    expect(chunks[0]!.id).toMatch(/^cmpl-/)
    expect(chunks[0]!.choices[0].text).toBe(mockEchoTag('Once upon a time', 1))
    expect(chunks[3]!.choices[0].finish_reason).toBe('length')
    expect(chunks[4]!.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 4 })
    expect(r.done).toBe(true)
  })

  it('answers non-streaming requests with the whole text and usage', async () => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 7 })
    expect(res.status).toBe(200)
    const body: any = await res.json()
    expect(body).toMatchObject({ object: 'text_completion', model: 'mock-llm' })
    expect(body.choices[0].finish_reason).toBe('length')
    expect(body.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 7, total_tokens: 11, prompt_tokens_details: { cached_tokens: 0 } })
    const streamed = await stream(`${mock.url}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 7, stream: true })
    expect(body.choices[0].text).toBe(streamed.text)
  })

  it('accepts a prompt of token ids', async () => {
    const mock = await start()
    const body: any = await (await post(`${mock.url}/v1/completions`, { prompt: [1, 2, 3, 4, 5], max_tokens: 2 })).json()
    expect(body.usage.prompt_tokens).toBe(5)
  })
})

describe('non-streaming chat', () => {
  it('returns a chat.completion with message, finish_reason and usage', async () => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/chat/completions`, { messages: hello, max_tokens: 12 })
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const body: any = await res.json()
    expect(body).toMatchObject({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant' }, finish_reason: 'length' }] })
    expect(body.choices[0].message.content.startsWith(mockEchoTag('Hello there, how are you?', 1))).toBe(true)
    expect(body.usage).toMatchObject({ completion_tokens: 12, prompt_tokens_details: { cached_tokens: 0 } })
  })
})

describe('bad requests', () => {
  it('answers invalid JSON with a 400 BadRequestError body', async () => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/chat/completions`, '{"messages": [')
    expect(res.status).toBe(400)
    const body: any = await res.json()
    expect(body.error).toMatchObject({ type: 'BadRequestError', code: 400 })
    expect(body.error).toHaveProperty('param')
    expect(body.error.message).toMatch(/JSON/)
  })

  it('answers missing messages or prompt with 400 naming the field', async () => {
    const mock = await start()
    const chat = await post(`${mock.url}/v1/chat/completions`, { model: 'm' })
    expect(chat.status).toBe(400)
    expect(((await chat.json()) as any).error).toMatchObject({ param: 'messages', type: 'BadRequestError' })
    const completion = await post(`${mock.url}/v1/completions`, { model: 'm' })
    expect(completion.status).toBe(400)
    expect(((await completion.json()) as any).error.param).toBe('prompt')
    const bad = await post(`${mock.url}/v1/chat/completions`, { messages: hello, max_tokens: -1 })
    expect(bad.status).toBe(400)
    expect(mock.stats().badRequests).toBe(3)
  })

  it('with strictModel, answers another model name with 404 as vLLM does, and serves its own or none', async () => {
    const mock = await start({ model: 'served-model', strictModel: true })
    const other = await post(`${mock.url}/v1/chat/completions`, { model: 'mock-llm', messages: hello, max_tokens: 2, stream: false })
    expect(other.status).toBe(404)
    expect(((await other.json()) as any).error).toMatchObject({ message: 'The model `mock-llm` does not exist.', param: 'model', code: 404 })
    for (const body of [{ model: 'served-model' }, {}]) {
      const ok = await post(`${mock.url}/v1/chat/completions`, { ...body, messages: hello, max_tokens: 2, stream: false })
      expect(ok.status).toBe(200)
    }
    const lenient = await start({ model: 'served-model' })
    expect((await post(`${lenient.url}/v1/chat/completions`, { model: 'anything', messages: hello, max_tokens: 2, stream: false })).status).toBe(200)
  })

  it("refuses prompt + max_tokens above max-model-len with vLLM's wording", async () => {
    const mock = await start({ maxModelLen: 100 })
    const res = await post(`${mock.url}/v1/completions`, { prompt: 'one two three four five six seven eight nine ten', max_tokens: 95 })
    expect(res.status).toBe(400)
    const { error }: any = await res.json()
    expect(error.message).toBe(
      "This model's maximum context length is 100 tokens. However, you requested 105 tokens " +
        '(10 in the messages, 95 in the completion). Please reduce the length of the messages or completion.',
    )
    expect(error).toMatchObject({ type: 'BadRequestError', code: 400 })
    const fits = await post(`${mock.url}/v1/completions`, { prompt: 'one two three four five six seven eight nine ten', max_tokens: 90 })
    expect(fits.status).toBe(200)
  })

  it('answers a bad x-mock header with 400', async () => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/chat/completions`, { messages: hello }, { 'x-mock-tokens-per-chunk': 'lots' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.message).toMatch(/x-mock-tokens-per-chunk/)
  })
})
