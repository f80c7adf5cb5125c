import { afterEach, describe, expect, it } from 'vitest'
import { mockEchoTag } from '../../src/mock/index.ts'
import { closeAll, jsonChunks, longText, post, start, stream } from './helpers.ts'

afterEach(closeAll)

const question = 'Hello there, how are you?'
const echo = mockEchoTag(question, 1)
const fn = { type: 'function', name: 'search', description: 'Search the web', parameters: { type: 'object', properties: { q: { type: 'string' } } } }

type Result = Awaited<ReturnType<typeof stream>>
const events = (r: Result) => jsonChunks(r)
const types = (r: Result) => events(r).map((e) => e.type as string)
const completed = (r: Result) => events(r).find((e) => e.type === 'response.completed')!.response

/** Run-length form of an event type list: `delta×3`. */
function collapse(list: string[]): string[] {
  const out: string[] = []
  for (const type of list) {
    const last = out.at(-1)
    const match = last === undefined ? null : /^(.*?)(?:×(\d+))?$/.exec(last)
    if (match && match[1] === type) out[out.length - 1] = `${type}×${Number(match[2] ?? 1) + 1}`
    else out.push(type)
  }
  return out
}

describe('streamed Responses API', () => {
  it('streams vLLM’s event sequence: created, in_progress, a reasoning item, a message item, completed', async () => {
    const mock = await start({ reasoningTokens: 3 })
    const r = await stream(`${mock.url}/v1/responses`, { model: 'm', input: question, max_output_tokens: 8, stream: true })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(collapse(types(r))).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_part.added',
      'response.reasoning_text.delta×3',
      'response.reasoning_text.done',
      'response.reasoning_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta×5',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ])
    // Every event is named after its type, numbered in order; there is no [DONE].
    expect(r.events).toEqual(types(r))
    expect(events(r).map((e) => e.sequence_number)).toEqual(types(r).map((_, i) => i))
    expect(r.done).toBe(false)
    expect(r.data.includes('[DONE]')).toBe(false)

    const all = events(r)
    expect(all[0]!.response).toMatchObject({ object: 'response', status: 'in_progress', output: [], usage: null, model: 'm' })
    expect(all[0]!.response.id).toMatch(/^resp_/)
    const [reasoningAdded, messageAdded] = all.filter((e) => e.type === 'response.output_item.added')
    expect(reasoningAdded).toMatchObject({ output_index: 0, item: { type: 'reasoning', summary: [], status: 'in_progress' } })
    expect(messageAdded).toMatchObject({ output_index: 1, item: { type: 'message', role: 'assistant', content: [], status: 'in_progress' } })
    const rsId = reasoningAdded!.item.id
    const msgId = messageAdded!.item.id
    expect(all.find((e) => e.type === 'response.reasoning_part.added')).toMatchObject({ item_id: rsId, output_index: 0, content_index: 0, part: { type: 'reasoning_text', text: '' } })
    expect(all.find((e) => e.type === 'response.content_part.added')).toMatchObject({ item_id: msgId, output_index: 1, content_index: 0, part: { type: 'output_text', text: '' } })
    expect(all.find((e) => e.type === 'response.reasoning_part.done')).toMatchObject({ item_id: rsId, part: { type: 'reasoning_text', text: r.reasoning } })
    const reasoningDeltas = all.filter((e) => e.type === 'response.reasoning_text.delta')
    expect(reasoningDeltas.every((e) => e.item_id === rsId && e.output_index === 0 && e.content_index === 0 && typeof e.delta === 'string')).toBe(true)
    const textDeltas = all.filter((e) => e.type === 'response.output_text.delta')
    expect(textDeltas.every((e) => e.item_id === msgId && e.output_index === 1 && e.content_index === 0)).toBe(true)
    expect(textDeltas[0]!.delta).toBe(echo)
    expect(all.find((e) => e.type === 'response.reasoning_text.done')!.text).toBe(r.reasoning)
    expect(all.find((e) => e.type === 'response.output_text.done')).toMatchObject({ item_id: msgId, text: r.text })
    expect(all.filter((e) => e.type === 'response.output_item.done').map((e) => e.item)).toEqual([
      { id: rsId, type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: r.reasoning }], status: 'completed' },
      { id: msgId, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: r.text, annotations: [] }] },
    ])

    // The limit ended the answer: incomplete, as vLLM reports a `length` finish.
    const response = completed(r)
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, max_output_tokens: 8 })
    expect(response.output).toEqual(all.filter((e) => e.type === 'response.output_item.done').map((e) => e.item))
    const chat: any = await (await post(`${mock.url}/v1/chat/completions`, { messages: [{ role: 'user', content: question }], max_tokens: 1 })).json()
    expect(response.usage).toEqual({
      input_tokens: chat.usage.prompt_tokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 8,
      output_tokens_details: { reasoning_tokens: 3 },
      total_tokens: chat.usage.prompt_tokens + 8,
    })
  })

  it('completes without a limit (defaultMaxTokens), and without reasoning has only the message item', async () => {
    const mock = await start({ defaultMaxTokens: 6 })
    const r = await stream(`${mock.url}/v1/responses`, { input: question, stream: true })
    expect(collapse(types(r))).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta×6',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ])
    expect(completed(r)).toMatchObject({ status: 'completed', incomplete_details: null, usage: { output_tokens: 6, output_tokens_details: { reasoning_tokens: 0 } } })
    expect(r.text.startsWith(echo)).toBe(true)
  })

  it('sends created and in_progress when the stream opens, the deltas at the configured ITL', async () => {
    const mock = await start({ baseLatencyMs: 150, itlMs: 15, reasoningTokens: 4 })
    const r = await stream(`${mock.url}/v1/responses`, { input: question, max_output_tokens: 10, stream: true })
    const at = (type: string) => r.at.filter((_, i) => r.events[i] === type)
    const created = at('response.created')[0]!
    const deltas = r.at.filter((_, i) => r.events[i] === 'response.reasoning_text.delta' || r.events[i] === 'response.output_text.delta')
    expect(deltas).toHaveLength(10)
    // The first token waits for the base latency; the opening events do not.
    expect(deltas[0]! - created).toBeGreaterThan(50)
    // One token per step, ITL apart, across the reasoning/answer boundary (the engine never steps faster
    // than half an ITL, and its timers can fire up to ~1 ms early). A busy client may read two steps at
    // once, so most gaps, not all, are checked.
    const gaps = deltas.slice(1).map((t, i) => t - deltas[i]!)
    expect(gaps.filter((gap) => gap >= 6).length).toBeGreaterThanOrEqual(5)
    expect(deltas.at(-1)! - deltas[0]!).toBeGreaterThanOrEqual(9 * 14 * 0.9)
    expect(at('response.completed')[0]).toBeGreaterThanOrEqual(deltas.at(-1)!)
  })

  it('puts several tokens in one delta with tokensPerChunk, as chat does', async () => {
    const mock = await start({ tokensPerChunk: 3 })
    const r = await stream(`${mock.url}/v1/responses`, { input: question, max_output_tokens: 7, stream: true }, { 'x-mock-reasoning-tokens': '2' })
    const deltas = events(r).filter((e) => e.type.endsWith('.delta'))
    // Steps of 1, 3, 3 tokens: the second holds the last reasoning token and the first two answer tokens.
    expect(deltas.map((e) => e.type)).toEqual(['response.reasoning_text.delta', 'response.reasoning_text.delta', 'response.output_text.delta', 'response.output_text.delta'])
    expect(completed(r).usage).toMatchObject({ output_tokens: 7, output_tokens_details: { reasoning_tokens: 2 } })
  })

  it('streams a function call item: added with empty arguments, argument deltas that concatenate to JSON, done', async () => {
    const mock = await start({ reasoningTokens: 2 })
    const r = await stream(`${mock.url}/v1/responses`, { input: question, tools: [fn], max_output_tokens: 6, stream: true })
    expect(collapse(types(r))).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_part.added',
      'response.reasoning_text.delta×2',
      'response.reasoning_text.done',
      'response.reasoning_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta×4',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ])
    const all = events(r)
    const added = all.filter((e) => e.type === 'response.output_item.added')[1]!
    expect(added).toEqual({
      type: 'response.output_item.added',
      sequence_number: expect.any(Number),
      output_index: 1,
      item: { id: expect.stringMatching(/^fc_/), type: 'function_call', call_id: expect.stringMatching(/^call_/), name: 'search', arguments: '', status: 'in_progress' },
    })
    const deltas = all.filter((e) => e.type === 'response.function_call_arguments.delta')
    expect(deltas.every((e) => e.item_id === added.item.id && e.output_index === 1)).toBe(true)
    const args = deltas.map((e) => e.delta).join('')
    expect(JSON.parse(args).q.startsWith(echo)).toBe(true)
    expect(all.find((e) => e.type === 'response.function_call_arguments.done')).toMatchObject({ item_id: added.item.id, name: 'search', arguments: args })
    const item = { ...added.item, arguments: args, status: 'completed' }
    expect(all.filter((e) => e.type === 'response.output_item.done')[1]!.item).toEqual(item)
    // A complete call: completed, whatever the limit.
    expect(completed(r)).toMatchObject({ status: 'completed', incomplete_details: null, tools: [fn], tool_choice: 'auto' })
    expect(completed(r).output[1]).toEqual(item)
    expect(completed(r).usage).toMatchObject({ output_tokens: 6, output_tokens_details: { reasoning_tokens: 2 } })
  })

  it('calls the function tool_choice names, and answers text with tool_choice none', async () => {
    const mock = await start()
    const url = `${mock.url}/v1/responses`
    const other = { type: 'function', name: 'lookup' }
    const named: any = await (await post(url, { input: question, tools: [fn, other], tool_choice: { type: 'function', name: 'lookup' }, max_output_tokens: 3 })).json()
    expect(named.output).toEqual([expect.objectContaining({ type: 'function_call', name: 'lookup' })])
    const none: any = await (await post(url, { input: question, tools: [fn], tool_choice: 'none', max_output_tokens: 3 })).json()
    expect(none.output).toEqual([expect.objectContaining({ type: 'message' })])
  })
})

describe('non-streamed Responses API', () => {
  it('answers one response object with the same items and text as the stream', async () => {
    const mock = await start({ reasoningTokens: 3 })
    const url = `${mock.url}/v1/responses`
    const body = { input: question, max_output_tokens: 8, instructions: 'Be brief.', temperature: 0.2, user: 'alice' }
    const streamed = await stream(url, { ...body, stream: true })
    const res = await post(url, body)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const whole: any = await res.json()
    expect(whole).toMatchObject({
      object: 'response',
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      instructions: 'Be brief.',
      temperature: 0.2,
      top_p: 1,
      user: 'alice',
      model: 'mock-llm',
    })
    expect(whole.id).toMatch(/^resp_/)
    expect(whole.output).toHaveLength(2)
    expect(whole.output[0]).toMatchObject({ type: 'reasoning', content: [{ type: 'reasoning_text', text: streamed.reasoning }] })
    expect(whole.output[1]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: streamed.text, annotations: [] }] })
    // The session is the user field: the echo tag says so.
    expect(streamed.text.startsWith(mockEchoTag('alice', 1))).toBe(true)
    expect(whole.usage).toMatchObject({ output_tokens: 8, output_tokens_details: { reasoning_tokens: 3 }, total_tokens: whole.usage.input_tokens + 8 })
  })

  it('puts <think> tags in the message text with reasoningField tags, and counts no reasoning tokens', async () => {
    const mock = await start({ reasoningTokens: 2, reasoningField: 'tags' })
    const whole: any = await (await post(`${mock.url}/v1/responses`, { input: question, max_output_tokens: 5 })).json()
    expect(whole.output).toHaveLength(1)
    expect(whole.output[0].content[0].text).toMatch(/^<think>.+<\/think>\[mock session=/)
    expect(whole.usage.output_tokens_details.reasoning_tokens).toBe(0)
  })
})

describe('Responses input', () => {
  it('renders input and instructions through the chat template: the same prompt tokens as the same chat', async () => {
    const mock = await start()
    const promptOf = async (body: unknown) => ((await (await post(`${mock.url}/v1/responses`, { ...(body as object), max_output_tokens: 1 })).json()) as any).usage.input_tokens
    const chatPrompt = async (messages: unknown[]) =>
      ((await (await post(`${mock.url}/v1/chat/completions`, { messages, max_tokens: 1 })).json()) as any).usage.prompt_tokens
    const one = await chatPrompt([{ role: 'user', content: question }])
    expect(await promptOf({ input: question })).toBe(one)
    expect(await promptOf({ input: [{ role: 'user', content: question }] })).toBe(one)
    expect(await promptOf({ input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: question }] }] })).toBe(one)
    const withSystem = await chatPrompt([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: question }])
    expect(withSystem).toBeGreaterThan(one)
    expect(await promptOf({ instructions: 'Be brief.', input: question })).toBe(withSystem)
    const history = [
      { role: 'user', content: question },
      { role: 'assistant', content: 'Fine.' },
      { role: 'user', content: 'And you?' },
    ]
    expect(
      await promptOf({
        input: [
          { role: 'user', content: question },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Fine.', annotations: [] }] },
          { type: 'reasoning', id: 'rs_1', summary: [] },
          { role: 'user', content: 'And you?' },
        ],
      }),
    ).toBe(await chatPrompt(history))
    // A function call and its output are an assistant tool call and a tool message.
    const tools = [{ type: 'function', function: { name: 'search' } }]
    const chatWithTools = ((await (
      await post(`${mock.url}/v1/chat/completions`, {
        tools,
        max_tokens: 1,
        messages: [
          { role: 'user', content: question },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'found' },
        ],
      })
    ).json()) as any).usage.prompt_tokens
    expect(
      await promptOf({
        tools: [{ type: 'function', name: 'search' }],
        input: [
          { role: 'user', content: question },
          { type: 'function_call', call_id: 'c1', name: 'search', arguments: '{"q":"x"}' },
          { type: 'function_call_output', call_id: 'c1', output: 'found' },
        ],
      }),
    ).toBe(chatWithTools)
  })

  it('hits the prefix cache across a multi-turn conversation exactly as chat does', async () => {
    const document = longText(300)
    const run = async (route: 'chat' | 'responses') => {
      const mock = await start()
      const turns: { prompt: number; cached: number }[] = []
      const history: { role: string; content: string }[] = [{ role: 'user', content: document }]
      for (const next of ['Tell me more', 'And then?']) {
        let answer: string
        if (route === 'chat') {
          const body: any = await (await post(`${mock.url}/v1/chat/completions`, { messages: history, max_tokens: 40 })).json()
          turns.push({ prompt: body.usage.prompt_tokens, cached: body.usage.prompt_tokens_details.cached_tokens })
          answer = body.choices[0].message.content
        } else {
          const input = history.map((m) => (m.role === 'assistant' ? { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: m.content }] } : m))
          const body: any = await (await post(`${mock.url}/v1/responses`, { input, max_output_tokens: 40 })).json()
          turns.push({ prompt: body.usage.input_tokens, cached: body.usage.input_tokens_details.cached_tokens })
          answer = body.output[0].content[0].text
        }
        history.push({ role: 'assistant', content: answer }, { role: 'user', content: next })
      }
      return turns
    }
    const chat = await run('chat')
    const responses = await run('responses')
    expect(responses).toEqual(chat)
    expect(chat[0]!.cached).toBe(0)
    // Later turns hit through the whole previous prompt and into the reply.
    expect(chat[1]!.cached).toBeGreaterThan(chat[0]!.prompt)
  })

  it('continues a chat conversation on /v1/responses from the cache (one template)', async () => {
    const mock = await start()
    const messages = [{ role: 'user', content: longText(200) }]
    const first: any = await (await post(`${mock.url}/v1/chat/completions`, { messages, max_tokens: 30 })).json()
    const input = [...messages, { role: 'assistant', content: first.choices[0].message.content }, { role: 'user', content: 'more' }]
    const second: any = await (await post(`${mock.url}/v1/responses`, { input, max_output_tokens: 2 })).json()
    expect(second.usage.input_tokens_details.cached_tokens).toBeGreaterThan(first.usage.prompt_tokens)
  })

  it.each([
    [{}, 'input', /Field required: input/],
    [{ input: '' }, 'input', /not be empty/],
    [{ input: [] }, 'input', /non-empty/],
    [{ input: 42 }, 'input', /string or a non-empty array/],
    [{ input: ['hi'] }, 'input[0]', /object/],
    [{ input: [{ content: 'hi' }] }, 'input[0].role', /string/],
    [{ input: [{ role: 'user', content: 7 }] }, 'input[0].content', /string or an array/],
    [{ input: [{ type: 'item_reference', id: 'x' }] }, 'input[0].type', /not supported/],
    [{ input: [{ role: 'system', content: 'only a system prompt' }] }, 'input', /at least one message/],
    [{ input: 'hi', instructions: 3 }, 'instructions', /string/],
    [{ input: 'hi', max_output_tokens: 0 }, 'max_output_tokens', /integer >= 1/],
    [{ input: 'hi', temperature: 'hot' }, 'temperature', /number/],
    [{ input: 'hi', tools: { name: 'x' } }, 'tools', /array/],
    [{ input: 'hi', tools: [{ type: 'web_search' }] }, 'tools[0].type', /function tools only/],
    [{ input: 'hi', tools: [{ type: 'function' }] }, 'tools[0].name', /non-empty string/],
    [{ input: 'hi', tools: [fn], tool_choice: { type: 'function', name: 'nope' } }, 'tool_choice', /not in tools/],
    [{ input: 'hi', tools: [fn], tool_choice: { type: 'function', function: { name: 'search' } } }, 'tool_choice', /"name"/],
    [{ input: 'hi', previous_response_id: 'resp_1' }, 'previous_response_id', /input items/],
  ])('answers %j with a 400 naming %s', async (body, param, message) => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/responses`, body)
    expect(res.status).toBe(400)
    const { error }: any = await res.json()
    expect(error).toMatchObject({ type: 'BadRequestError', code: 400, param })
    expect(error.message).toMatch(message)
  })

  it('refuses input + max_output_tokens above max-model-len, naming input', async () => {
    const mock = await start({ maxModelLen: 50 })
    const res = await post(`${mock.url}/v1/responses`, { input: question, max_output_tokens: 48 })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error).toMatchObject({ param: 'input', message: expect.stringMatching(/maximum context length is 50/) })
  })
})

describe('Responses route errors and faults', () => {
  it('answers 404 for another model under strictModel, 405 for GET, and injected statuses', async () => {
    const mock = await start({ model: 'served', strictModel: true })
    const url = `${mock.url}/v1/responses`
    const other = await post(url, { model: 'mock-llm', input: 'hi' })
    expect(other.status).toBe(404)
    expect(((await other.json()) as any).error).toMatchObject({ message: 'The model `mock-llm` does not exist.', param: 'model', code: 404 })
    expect((await post(url, { model: 'served', input: 'hi', max_output_tokens: 1 })).status).toBe(200)
    expect((await fetch(url)).status).toBe(405)
    const injected = await post(url, { input: 'hi' }, { 'x-mock-fault': 'status=503' })
    expect(injected.status).toBe(503)
    expect(((await injected.json()) as any).error.type).toBe('ServiceUnavailableError')
  })

  it('drops the stream after N tokens (drop-after)', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/responses`, { input: 'hi', max_output_tokens: 10, stream: true }, { 'x-mock-fault': 'drop-after=4' })
    expect(r.error).toBeDefined()
    expect(types(r).filter((t) => t === 'response.output_text.delta')).toHaveLength(4)
    expect(types(r)).not.toContain('response.completed')
    await expect(post(`${mock.url}/v1/responses`, { input: 'hi', max_output_tokens: 10 }, { 'x-mock-fault': 'drop-after=4' })).rejects.toThrow()
  })

  it('ends without response.completed with no-done, and sends one malformed event with malformed-after', async () => {
    const mock = await start()
    const url = `${mock.url}/v1/responses`
    const noDone = await stream(url, { input: 'hi', max_output_tokens: 5, stream: true }, { 'x-mock-fault': 'no-done' })
    expect(noDone.error).toBeUndefined()
    expect(types(noDone).at(-1)).toBe('response.output_item.done')
    const malformed = await stream(url, { input: 'hi', max_output_tokens: 5, stream: true }, { 'x-mock-fault': 'malformed-after=2' })
    expect(malformed.chunks.filter((c) => c === null)).toHaveLength(1)
    expect(types(malformed).filter((t) => t === 'response.output_text.delta')).toHaveLength(5)
    expect(types(malformed).at(-1)).toBe('response.completed')
  })

  it('pauses mid-stream (stall=<ms>@<n>)', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/responses`, { input: 'hi', max_output_tokens: 6, stream: true }, { 'x-mock-fault': 'stall=200@3' })
    const deltas = r.at.filter((_, i) => r.events[i] === 'response.output_text.delta')
    expect(deltas).toHaveLength(6)
    expect(deltas[3]! - deltas[2]!).toBeGreaterThanOrEqual(190)
  })

  it('counts Responses requests and events in /stats', async () => {
    const mock = await start()
    const r = await stream(`${mock.url}/v1/responses`, { input: 'hi', max_output_tokens: 3, stream: true })
    expect(mock.stats()).toMatchObject({ requests: 1, completed: 1, chunks: r.data.length })
  })
})
