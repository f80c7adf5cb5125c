// The client's reading of reasoning, tool calls and the Responses API, chunk by chunk, against a local server
// that streams exactly the events each test gives (with known pauses), so every field of the record is checked.
import { createServer } from 'node:http'
import type { AddressInfo, Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { apiEndpointUrl, buildPayload } from '../../src/client/index.ts'
import type { RequestRecord } from '../../src/types.ts'
import { contextFor, send } from '../helpers/client.ts'

type Event = { data: string; pauseMs?: number; event?: string }
let events: Event[] = []
let lastBody = ''
let server: Server
let base: string
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', async () => {
      lastBody = body
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      for (const e of events) {
        if (e.pauseMs) await new Promise((r) => setTimeout(r, e.pauseMs))
        res.write(`${e.event ? `event: ${e.event}\n` : ''}data: ${e.data}\n\n`)
      }
      res.end()
    })
  }).listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }], ...extra })
const finish = (reason: string): string => JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: reason }] })

async function record(list: Event[], generation: NonNullable<Parameters<typeof contextFor>[1]>['generation'] = {}, path = '/v1/chat/completions'): Promise<RequestRecord> {
  events = list
  const { ctx, endpoint } = contextFor(base + path, { generation })
  try {
    return await send(ctx, 'hello')
  } finally {
    await endpoint.close()
  }
}

describe('reasoning deltas', () => {
  test('reasoning_content then content: TTFT at the first reasoning token, TTFAT at the first answer token, the phase counted', async () => {
    const r = await record([
      { data: chunk({ role: 'assistant', content: '' }) },
      ...['Let', ' me', ' think'].map((t) => ({ data: chunk({ reasoning_content: t }), pauseMs: 10 })),
      { data: chunk({ content: 'Paris' }), pauseMs: 150 },
      { data: chunk({ content: '.' }), pauseMs: 10 },
      { data: finish('stop') },
      { data: JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10, completion_tokens_details: { reasoning_tokens: 3 } } }) },
      { data: '[DONE]' },
    ])
    expect(r.ok).toBe(true)
    expect(r.chunkOffsetsMs).toHaveLength(5)
    expect(r.ttfatMs! - r.ttftMs!).toBeGreaterThanOrEqual(140)
    expect(r.reasoning).toMatchObject({ tokens: 3, tokenSource: 'usage', chunks: 3, firstMs: r.ttftMs })
    expect(r.reasoning!.timeMs).toBeCloseTo(r.ttfatMs! - r.ttftMs!, 6)
    expect(r.outputText).toBe('Paris.')
    expect(r.outputTokens).toBe(5)
    expect(r.toolCalls).toBeUndefined()
  })

  test('the newer `reasoning` spelling; without usage the reasoning is counted by the tokenizer', async () => {
    const r = await record([
      { data: chunk({ reasoning: 'Think' }) },
      { data: chunk({ reasoning: 'ing hard' }), pauseMs: 5 },
      { data: chunk({ content: 'Yes' }), pauseMs: 100 },
      { data: finish('stop') },
      { data: '[DONE]' },
    ], { continuousUsageStats: false })
    expect(r.reasoning).toMatchObject({ tokenSource: 'tokenizer', chunks: 2 })
    expect(r.reasoning!.tokens).toBeGreaterThan(0)
    expect(r.outputTokens).toBeGreaterThan(r.reasoning!.tokens)
    expect(r.outputText).toBe('Yes')
    expect(r.ttfatMs! - r.ttftMs!).toBeGreaterThanOrEqual(90)
  })

  test('a model that does not reason: TTFAT is TTFT and there is no reasoning', async () => {
    const r = await record([{ data: chunk({ content: 'Hi' }) }, { data: chunk({ content: '!' }) }, { data: finish('stop') }, { data: '[DONE]' }])
    expect(r.ttfatMs).toBe(r.ttftMs)
    expect(r.reasoning).toBeUndefined()
  })

  test('reasoning cut by max_tokens: no answer, so TTFAT and the reasoning time are null', async () => {
    const r = await record([{ data: chunk({ reasoning_content: 'hmm' }) }, { data: chunk({ reasoning_content: ' well' }) }, { data: finish('length') }, { data: '[DONE]' }])
    expect(r.ok).toBe(true)
    expect(r.ttfatMs).toBeNull()
    expect(r.reasoning).toMatchObject({ timeMs: null, chunks: 2 })
  })
})

describe('--reasoning-tags: <think> in the content', () => {
  const stream = (parts: string[], pauseBefore: number): Event[] => [
    ...parts.map((t, i) => ({ data: chunk({ content: t }), pauseMs: i === pauseBefore ? 120 : 0 })),
    { data: finish('stop') },
    { data: '[DONE]' },
  ]

  test('content up to </think> is reasoning, even with the closing tag split over two chunks', async () => {
    const parts = ['<think>', '\nthe', ' user asks', '\n</thi', 'nk>', '\n\nAnswer', ' here']
    const r = await record(stream(parts, 5), { reasoningTags: true })
    expect(r.reasoning).toMatchObject({ chunks: 5 })
    expect(r.ttfatMs! - r.ttftMs!).toBeGreaterThanOrEqual(110)
    expect(r.outputText).toBe('\n\nAnswer here')
    // Off, the same stream is all answer.
    const plain = await record(stream(parts, 5))
    expect(plain.reasoning).toBeUndefined()
    expect(plain.ttfatMs).toBe(plain.ttftMs)
    expect(plain.outputText).toBe(parts.join(''))
  })

  test('DeepSeek-R1 style, the opening tag in the prompt: everything before </think> is reasoning', async () => {
    const r = await record(stream(['Okay', ', so', '</think>', 'Fine'], 3), { reasoningTags: true })
    expect(r.reasoning).toMatchObject({ chunks: 3 })
    expect(r.outputText).toBe('Fine')
  })

  test('an answer that never thinks (no <think>, no </think>) stays an answer', async () => {
    const r = await record(stream(['Just', ' an answer <', '/'], -1), { reasoningTags: true })
    expect(r.reasoning).toBeUndefined()
    expect(r.ttfatMs).toBe(r.ttftMs)
    expect(r.outputText).toBe('Just an answer </')
  })

  test('thinking never closed: all reasoning, no answer', async () => {
    const r = await record(stream(['<think>', 'still', ' going </th'], -1), { reasoningTags: true })
    expect(r.ttfatMs).toBeNull()
    expect(r.reasoning).toMatchObject({ chunks: 3, timeMs: null })
    expect(r.outputText).toBe('')
  })
})

describe('what the review found', () => {
  test('--reasoning-tags against a server with a reasoning parser: its reasoning field wins, content is the answer', async () => {
    const r = await record([
      { data: chunk({ reasoning_content: 'Let me' }) },
      { data: chunk({ reasoning_content: ' think' }) },
      { data: chunk({ content: 'Paris' }), pauseMs: 80 },
      { data: chunk({ content: ' is it.' }) },
      { data: finish('stop') },
      { data: '[DONE]' },
    ], { reasoningTags: true })
    expect(r.outputText).toBe('Paris is it.')
    expect(r.reasoning).toMatchObject({ chunks: 2 })
    expect(r.ttfatMs! - r.ttftMs!).toBeGreaterThanOrEqual(70)
  })

  test('an empty think block (Qwen3 with thinking off) is no reasoning', async () => {
    const r = await record([{ data: chunk({ content: '<think>\n\n</think>\n\n' }) }, { data: chunk({ content: 'Hi' }) }, { data: finish('stop') }, { data: '[DONE]' }], { reasoningTags: true })
    expect(r.reasoning).toBeUndefined()
    expect(r.outputText).toBe('\n\nHi')
  })

  test('tool calls count as output when the server reports no usage', async () => {
    const r = await record([
      { data: chunk({ tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }) },
      { data: chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city": "Paris, France"}' } }] }) },
      { data: finish('tool_calls') },
      { data: '[DONE]' },
    ], { continuousUsageStats: false })
    expect(r.outputTokens).toBeGreaterThan(3)
    expect(r.outputTokenSource).toBe('tokenizer')
  })

  test('reasoning in `reasoning` beside an empty `reasoning_content` is read', async () => {
    const r = await record([{ data: chunk({ reasoning_content: '', reasoning: 'hmm' }) }, { data: chunk({ content: 'ok' }) }, { data: finish('stop') }, { data: '[DONE]' }])
    expect(r.reasoning).toMatchObject({ chunks: 1 })
  })

  test('a reported 0 reasoning tokens beside reasoning text is counted instead', async () => {
    const r = await record([
      { data: chunk({ reasoning_content: 'Thinking about it' }) },
      { data: chunk({ content: 'ok' }) },
      { data: finish('stop') },
      { data: JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8, reasoning_tokens: 0 } }) },
      { data: '[DONE]' },
    ])
    expect(r.reasoning).toMatchObject({ tokenSource: 'tokenizer' })
    expect(r.reasoning!.tokens).toBeGreaterThan(0)
  })

  test('a Responses request asks the server not to store the answer', async () => {
    await record([{ event: 'response.completed', data: JSON.stringify({ type: 'response.completed', response: { status: 'completed', output: [] } }) }], {}, '/v1/responses')
    expect(JSON.parse(lastBody)).toMatchObject({ store: false })
  })
})

describe('tool calls', () => {
  test('streamed tool_calls deltas are the answer: counted per call, the first one timed', async () => {
    const r = await record([
      { data: chunk({ reasoning_content: 'need weather' }) },
      { data: chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }), pauseMs: 80 },
      { data: chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city": "Paris"}' } }] }) },
      { data: chunk({ tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }) },
      { data: finish('tool_calls') },
      { data: '[DONE]' },
    ])
    expect(r.finishReason).toBe('tool_calls')
    expect(r.toolCalls).toEqual({ count: 2, firstMs: r.ttfatMs })
    expect(r.ttfatMs! - r.ttftMs!).toBeGreaterThanOrEqual(70)
    expect(r.outputText).toBe('')
  })

  test('a row\'s tools and tool_choice are sent in each API\'s shape', () => {
    const tools = { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], toolChoice: { type: 'function', function: { name: 'f' } } }
    const chat = JSON.parse(buildPayload('chat', [{ role: 'user', content: 'x' }], { model: 'm' }, tools))
    expect(chat.tools).toEqual(tools.tools)
    expect(chat.tool_choice).toEqual(tools.toolChoice)
    const responses = JSON.parse(buildPayload('responses', [{ role: 'user', content: 'x' }], { model: 'm', maxTokens: 9, ignoreEos: true }, tools))
    expect(responses).toMatchObject({ input: [{ role: 'user', content: 'x' }], max_output_tokens: 9, tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }], tool_choice: { type: 'function', name: 'f' }, stream: true })
    expect(responses).not.toHaveProperty('stream_options')
    expect(responses).not.toHaveProperty('ignore_eos')
    expect(responses).not.toHaveProperty('messages')
    // Completions have no tools.
    expect(JSON.parse(buildPayload('completions', [{ role: 'user', content: 'x' }], { model: 'm' }, tools))).not.toHaveProperty('tools')
  })
})

describe('the Responses API', () => {
  const ev = (type: string, fields: Record<string, unknown> = {}): Event => ({ event: type, data: JSON.stringify({ type, ...fields }) })
  const completed = (status: string, extra: Record<string, unknown> = {}): Event => ev(`response.${status === 'completed' ? 'completed' : 'incomplete'}`, {
    response: { id: 'resp_1', object: 'response', status, output: [], usage: { input_tokens: 7, input_tokens_details: { cached_tokens: 4 }, output_tokens: 6, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 13 }, ...extra },
  })

  test('a /v1/responses endpoint speaks it: input items, reasoning and text deltas, usage from response.completed', async () => {
    const r = await record([
      ev('response.created', { response: { id: 'resp_1', status: 'in_progress' } }),
      ev('response.reasoning_text.delta', { delta: 'Hmm', output_index: 0 }),
      ev('response.reasoning_text.delta', { delta: ' ok', output_index: 0 }),
      { ...ev('response.output_text.delta', { delta: 'Hello', output_index: 1 }), pauseMs: 100 },
      ev('response.output_text.delta', { delta: ' there', output_index: 1 }),
      ev('response.output_text.done', { text: 'Hello there' }),
      completed('completed'),
    ], {}, '/v1/responses')
    expect(JSON.parse(lastBody)).toMatchObject({ input: [{ role: 'user', content: 'hello' }], max_output_tokens: 8, stream: true })
    expect(r.ok).toBe(true)
    expect(r.noDoneMarker).toBeUndefined()
    expect(r).toMatchObject({ inputTokens: 7, cachedTokens: 4, outputTokens: 6, outputTokenSource: 'usage', finishReason: 'stop', outputText: 'Hello there' })
    expect(r.reasoning).toMatchObject({ tokens: 2, tokenSource: 'usage', chunks: 2 })
    expect(r.chunkOffsetsMs).toHaveLength(4)
    expect(r.ttfatMs! - r.ttftMs!).toBeGreaterThanOrEqual(90)
  })

  test('max_output_tokens reached is finish reason length; a function call counts as a tool call', async () => {
    const cut = await record([ev('response.output_text.delta', { delta: 'a' }), completed('incomplete', { incomplete_details: { reason: 'max_output_tokens' } })], {}, '/v1/responses')
    expect(cut.finishReason).toBe('length')
    const call = await record([
      ev('response.output_item.added', { output_index: 0, item: { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'f', arguments: '' } }),
      ev('response.function_call_arguments.delta', { output_index: 0, delta: '{"a":' }),
      ev('response.function_call_arguments.delta', { output_index: 0, delta: '1}' }),
      completed('completed', { output: [{ type: 'function_call', name: 'f', arguments: '{"a":1}' }] }),
    ], {}, '/v1/responses')
    expect(call).toMatchObject({ finishReason: 'tool_calls', toolCalls: { count: 1 } })
    // The item's announcement carries no token: the two argument deltas are the chunks.
    expect(call.chunkOffsetsMs).toHaveLength(2)
  })

  test('response.failed and error events fail the request with the server\'s message', async () => {
    const failed = await record([ev('response.output_text.delta', { delta: 'a' }), ev('response.failed', { response: { status: 'failed', error: { code: 'server_error', message: 'the engine died' } } })], {}, '/v1/responses')
    expect(failed.ok).toBe(false)
    expect(failed.error?.message).toMatch(/the engine died/)
    const error = await record([ev('error', { code: 'x', message: 'bad things' })], {}, '/v1/responses')
    expect(error.error?.message).toMatch(/bad things/)
  })

  test('a stream without response.completed is incomplete', async () => {
    const r = await record([ev('response.output_text.delta', { delta: 'a' })], {}, '/v1/responses')
    expect(r.ok).toBe(false)
    expect(r.error?.kind).toBe('incomplete_stream')
  })

  test('--api picks the path under a base URL, and switches an endpoint of another API', () => {
    const notes: string[] = []
    expect(apiEndpointUrl('http://h:8000', (m) => notes.push(m), '--endpoint', 'responses')).toBe('http://h:8000/v1/responses')
    expect(apiEndpointUrl('http://h:8000/v1', (m) => notes.push(m), '--endpoint', 'completions')).toBe('http://h:8000/v1/completions')
    expect(apiEndpointUrl('http://h:8000/v1/chat/completions', (m) => notes.push(m), '--endpoint', 'responses')).toBe('http://h:8000/v1/responses')
    expect(notes.at(-1)).toMatch(/is the chat endpoint; with the responses API, requests go to http:\/\/h:8000\/v1\/responses/)
    expect(apiEndpointUrl('http://h:8000/v1/responses', (m) => notes.push(m))).toBe('http://h:8000/v1/responses')
    expect(notes).toHaveLength(3)
  })
})
