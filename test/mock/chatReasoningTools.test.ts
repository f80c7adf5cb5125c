import { afterEach, describe, expect, it } from 'vitest'
import { mockCommand, mockOptionsFromFlags } from '../../src/cli/mock.ts'
import { InputError } from '../../src/errors.ts'
import { mockEchoTag } from '../../src/mock/index.ts'
import { resolveMockOptions } from '../../src/mock/options.ts'
import { closeAll, jsonChunks, longText, post, start, stream, usageOf } from './helpers.ts'

afterEach(closeAll)

const hello = [{ role: 'user', content: 'Hello there, how are you?' }]
const echo = mockEchoTag('Hello there, how are you?', 1)
const withUsage = { stream: true, stream_options: { include_usage: true } }
const search = { type: 'function', function: { name: 'search', description: 'Search the web', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }
const lookup = { type: 'function', function: { name: 'lookup' } }

type Result = Awaited<ReturnType<typeof stream>>
/** The deltas of a chat stream after the role chunk. */
const deltas = (r: Result) =>
  jsonChunks(r)
    .filter((c) => c.choices.length > 0)
    .slice(1)
    .map((c) => c.choices[0].delta)
const finishOf = (r: Result) => jsonChunks(r).filter((c) => c.choices.length > 0).at(-1)!.choices[0].finish_reason

describe('reasoning in chat', () => {
  it('spells the delta field `reasoning` with reasoningField (option or x-mock-reasoning-field)', async () => {
    const body = { messages: hello, max_tokens: 7, stream: true }
    const byOption = await start({ reasoningField: 'reasoning', reasoningTokens: 3 })
    const a = await stream(`${byOption.url}/v1/chat/completions`, body)
    expect(deltas(a).slice(0, 3).every((d) => typeof d.reasoning === 'string' && d.reasoning_content === undefined && d.content === undefined)).toBe(true)
    expect(deltas(a).slice(3).every((d) => d.content && d.reasoning === undefined)).toBe(true)
    const whole: any = await (await post(`${byOption.url}/v1/chat/completions`, { messages: hello, max_tokens: 7 })).json()
    expect(whole.choices[0].message.reasoning).toBe(a.reasoning)
    expect(whole.choices[0].message).not.toHaveProperty('reasoning_content')

    const byHeader = await start()
    const b = await stream(`${byHeader.url}/v1/chat/completions`, body, { 'x-mock-reasoning-field': 'reasoning', 'x-mock-reasoning-tokens': '3' })
    expect(b.reasoning).toBe(a.reasoning)
    expect(deltas(b)[0]).toHaveProperty('reasoning')
    // The default stays reasoning_content.
    const c = await stream(`${byHeader.url}/v1/chat/completions`, body, { 'x-mock-reasoning-tokens': '3' })
    expect(deltas(c)[0]).toHaveProperty('reasoning_content')
    expect(c.reasoning).toBe(a.reasoning)
  })

  it('reports reasoning_tokens in the usage chunk, continuous usage and the non-streamed body', async () => {
    const mock = await start({ reasoningTokens: 3 })
    const url = `${mock.url}/v1/chat/completions`
    const r = await stream(url, { messages: hello, max_tokens: 8, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } })
    const chunks = jsonChunks(r)
    expect(chunks.map((c) => c.usage.completion_tokens_details.reasoning_tokens)).toEqual([0, 1, 2, 3, 3, 3, 3, 3, 3, 3])
    expect(usageOf(r)).toMatchObject({ completion_tokens: 8, completion_tokens_details: { reasoning_tokens: 3 } })
    const whole: any = await (await post(url, { messages: hello, max_tokens: 8 })).json()
    expect(whole.usage).toMatchObject({ completion_tokens: 8, completion_tokens_details: { reasoning_tokens: 3 } })
    // A limit inside the reasoning: every token is reasoning, no answer.
    const cut = await stream(url, { messages: hello, max_tokens: 2, ...withUsage })
    expect(usageOf(cut)).toMatchObject({ completion_tokens: 2, completion_tokens_details: { reasoning_tokens: 2 } })
    expect(cut.text).toBe('')
    // No reasoning, no details (as vLLM without a reasoning parser).
    const plain = await start()
    expect(usageOf(await stream(`${plain.url}/v1/chat/completions`, { messages: hello, max_tokens: 3, ...withUsage }))).not.toHaveProperty('completion_tokens_details')
  })

  it('streams reasoning inside content between <think> and </think> with tags, the tags riding on the first and last reasoning tokens', async () => {
    const mock = await start({ reasoningTokens: 4, reasoningField: 'tags' })
    const url = `${mock.url}/v1/chat/completions`
    const r = await stream(url, { messages: hello, max_tokens: 9, ...withUsage })
    const contents = deltas(r).map((d) => d.content)
    expect(contents).toHaveLength(9)
    expect(deltas(r).every((d) => d.reasoning_content === undefined && d.reasoning === undefined)).toBe(true)
    expect(contents[0]!.startsWith('<think>')).toBe(true)
    expect(contents[3]!.endsWith('</think>')).toBe(true)
    expect(contents.slice(1, 3).every((c) => !c.includes('<'))).toBe(true)
    expect(contents[4]).toBe(echo)
    // The same tokens as reasoning_content would carry, in the tags.
    const field = await stream(url, { messages: hello, max_tokens: 9, stream: true }, { 'x-mock-reasoning-field': 'reasoning_content' })
    expect(r.text).toBe(`<think>${field.reasoning}</think>${field.text}`)
    // No reasoning parser, no reasoning count.
    expect(usageOf(r)).toMatchObject({ completion_tokens: 9 })
    expect(usageOf(r)).not.toHaveProperty('completion_tokens_details')
    const whole: any = await (await post(url, { messages: hello, max_tokens: 9 })).json()
    expect(whole.choices[0].message.content).toBe(r.text)
    expect(whole.choices[0].message).not.toHaveProperty('reasoning_content')
    // A limit inside the reasoning leaves the tag open.
    const cut = await stream(url, { messages: hello, max_tokens: 3, stream: true })
    expect(cut.text.startsWith('<think>')).toBe(true)
    expect(cut.text).not.toContain('</think>')
  })

  it('puts both tags on a single reasoning token', async () => {
    const mock = await start({ reasoningTokens: 1, reasoningField: 'tags' })
    const r = await stream(`${mock.url}/v1/chat/completions`, { messages: hello, max_tokens: 3, stream: true })
    expect(deltas(r)[0].content).toMatch(/^<think>.+<\/think>$/)
    expect(deltas(r)[1].content).toBe(echo)
  })

  it('gives no reasoning to /v1/completions', async () => {
    const mock = await start({ reasoningTokens: 3 })
    const r = await stream(`${mock.url}/v1/completions`, { prompt: 'Once upon a time', max_tokens: 4, ...withUsage })
    expect(r.text.startsWith(mockEchoTag('Once upon a time', 1))).toBe(true)
    expect(usageOf(r)).not.toHaveProperty('completion_tokens_details')
  })

  it('refuses a bad reasoning field: header 400, option and flag InputError', async () => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/chat/completions`, { messages: hello }, { 'x-mock-reasoning-field': 'thoughts' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.message).toMatch(/x-mock-reasoning-field.*reasoning_content, reasoning, tags/)
    expect(() => resolveMockOptions({ reasoningField: 'thoughts' as any })).toThrow(InputError)
    let error: unknown
    try {
      mockOptionsFromFlags({ reasoningField: 'thoughts' })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).where).toBe('--reasoning-field')
    expect(mockOptionsFromFlags({ reasoningField: 'tags', reasoningTokens: '5' })).toEqual({ reasoningField: 'tags', reasoningTokens: 5 })
  })

  it('documents --reasoning-field with its default in --help', () => {
    let text = ''
    const command = mockCommand()
      .exitOverride()
      .configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) })
    try {
      command.parse(['--help'], { from: 'user' })
    } catch {}
    expect(text).toContain('--reasoning-field <field>')
    expect(text).toContain('"reasoning_content"')
    expect(text).toContain('--reasoning-tokens <n>')
  })
})

describe('tool calls in chat', () => {
  it('streams one tool call: id and name with the first arguments fragment, then one fragment per answer token', async () => {
    const mock = await start({ reasoningTokens: 2 })
    const r = await stream(`${mock.url}/v1/chat/completions`, { messages: hello, tools: [search, lookup], max_tokens: 7, ...withUsage })
    const d = deltas(r)
    expect(d.slice(0, 2).every((x) => x.reasoning_content && x.tool_calls === undefined)).toBe(true)
    expect(d[2]).toEqual({
      tool_calls: [{ index: 0, id: expect.stringMatching(/^chatcmpl-tool-/), type: 'function', function: { name: 'search', arguments: expect.stringMatching(/^\{"q":"/) } }],
    })
    // No chunk without a token: the head rides with the first one.
    const fragments = d.slice(2)
    expect(fragments).toHaveLength(5)
    for (const f of fragments.slice(1)) {
      expect(Object.keys(f)).toEqual(['tool_calls'])
      expect(f.tool_calls).toHaveLength(1)
      expect(Object.keys(f.tool_calls[0])).toEqual(['index', 'function'])
      expect(f.tool_calls[0].index).toBe(0)
      expect(Object.keys(f.tool_calls[0].function)).toEqual(['arguments'])
    }
    const args = fragments.map((f) => f.tool_calls[0].function.arguments).join('')
    const parsed = JSON.parse(args)
    expect(Object.keys(parsed)).toEqual(['q'])
    expect(parsed.q.startsWith(echo)).toBe(true)
    expect(d.every((x) => x.content === undefined)).toBe(true)
    expect(finishOf(r)).toBe('tool_calls')
    expect(usageOf(r)).toMatchObject({ completion_tokens: 7, completion_tokens_details: { reasoning_tokens: 2 } })
    expect(r.done).toBe(true)
  })

  it('answers non-streamed with message.tool_calls, content null, the same arguments', async () => {
    const mock = await start({ reasoningTokens: 2 })
    const url = `${mock.url}/v1/chat/completions`
    const body = { messages: hello, tools: [search], max_tokens: 6 }
    const streamed = await stream(url, { ...body, stream: true })
    const args = deltas(streamed)
      .flatMap((d) => d.tool_calls ?? [])
      .map((t: any) => t.function.arguments)
      .join('')
    const whole: any = await (await post(url, body)).json()
    const { message, finish_reason } = whole.choices[0]
    expect(finish_reason).toBe('tool_calls')
    expect(message.content).toBeNull()
    expect(message.reasoning_content).toBe(streamed.reasoning)
    expect(message.tool_calls).toEqual([{ id: expect.stringMatching(/^chatcmpl-tool-/), type: 'function', function: { name: 'search', arguments: args } }])
    expect(whole.usage).toMatchObject({ completion_tokens: 6, completion_tokens_details: { reasoning_tokens: 2 } })
  })

  it('calls the function tool_choice names (finish_reason stop, as OpenAI and vLLM), none means text, required the first tool', async () => {
    const mock = await start()
    const url = `${mock.url}/v1/chat/completions`
    const named = await stream(url, { messages: hello, tools: [search, lookup], tool_choice: { type: 'function', function: { name: 'lookup' } }, max_tokens: 3, stream: true })
    expect(deltas(named)[0].tool_calls[0].function.name).toBe('lookup')
    expect(finishOf(named)).toBe('stop')
    const none = await stream(url, { messages: hello, tools: [search], tool_choice: 'none', max_tokens: 3, stream: true })
    expect(none.text.startsWith(echo)).toBe(true)
    expect(finishOf(none)).toBe('length')
    const required = await stream(url, { messages: hello, tools: [search, lookup], tool_choice: 'required', max_tokens: 3, stream: true })
    expect(deltas(required)[0].tool_calls[0].function.name).toBe('search')
    expect(finishOf(required)).toBe('tool_calls')
    // An empty tools array is no tools.
    expect((await stream(url, { messages: hello, tools: [], max_tokens: 2, stream: true })).text.startsWith(echo)).toBe(true)
  })

  it('keeps the arguments valid JSON with several tokens per chunk, and with a single answer token', async () => {
    const mock = await start({ tokensPerChunk: 3, reasoningTokens: 2 })
    const url = `${mock.url}/v1/chat/completions`
    const r = await stream(url, { messages: hello, tools: [search], max_tokens: 10, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } })
    const chunks = jsonChunks(r).filter((c) => c.choices.length > 0)
    const fragments = chunks.filter((c) => c.choices[0].delta.tool_calls?.[0]?.function?.arguments)
    // Steps: 1 | 2 3 4 | 5 6 7 | 8 9 10: tokens 1-2 are reasoning, 3-10 the call, in 3 steps.
    expect(fragments.map((c) => c.usage.completion_tokens)).toEqual([4, 7, 10])
    expect(JSON.parse(fragments.map((c) => c.choices[0].delta.tool_calls[0].function.arguments).join('')).q.startsWith(echo)).toBe(true)
    expect(usageOf(r)!.completion_tokens).toBe(10)
    const one = await stream(url, { messages: hello, tools: [search], max_tokens: 3, stream: true }, { 'x-mock-tokens-per-chunk': '1' })
    const args = deltas(one).flatMap((d) => d.tool_calls ?? []).map((t: any) => t.function.arguments)
    expect(args).toEqual([`{"q":"${echo}"}`])
  })

  it('paces reasoning and the call\'s fragments at the configured ITL (the head rides in the first answer token\'s chunk)', async () => {
    const mock = await start({ itlMs: 15, reasoningTokens: 3 })
    const r = await stream(`${mock.url}/v1/chat/completions`, { messages: hello, tools: [search], max_tokens: 9, stream: true })
    const chunks = r.chunks.map((c, i) => ({ delta: c?.choices?.[0]?.delta, at: r.at[i]! })).filter((c) => c.delta)
    const head = chunks.findIndex((c) => c.delta.tool_calls?.[0]?.id)
    expect(chunks[head - 1]!.delta.reasoning_content).toBeDefined()
    // The head waits a step after the last reasoning token, and carries the first fragment.
    expect(chunks[head]!.at - chunks[head - 1]!.at).toBeGreaterThanOrEqual(6)
    expect(chunks[head]!.delta.tool_calls[0].function.arguments).toMatch(/^\{"q":"/)
    const tokens = chunks.filter((c) => c.delta.reasoning_content || c.delta.tool_calls?.[0]?.function?.arguments)
    expect(tokens).toHaveLength(9)
    // A busy client may read two steps at once, so most gaps, not all, are checked.
    const gaps = tokens.slice(1).map((t, i) => t.at - tokens[i]!.at)
    expect(gaps.filter((gap) => gap >= 6).length).toBeGreaterThanOrEqual(5)
    expect(tokens.at(-1)!.at - tokens[0]!.at).toBeGreaterThanOrEqual(8 * 14 * 0.9)
  })

  it('makes no tool call when the limit ends inside the reasoning', async () => {
    const mock = await start({ reasoningTokens: 5 })
    const r = await stream(`${mock.url}/v1/chat/completions`, { messages: hello, tools: [search], max_tokens: 4, stream: true })
    expect(deltas(r).every((d) => d.tool_calls === undefined && d.reasoning_content)).toBe(true)
    expect(finishOf(r)).toBe('length')
  })

  it('carries <think> tags as content before the tool call', async () => {
    const mock = await start({ reasoningTokens: 2, reasoningField: 'tags' })
    const r = await stream(`${mock.url}/v1/chat/completions`, { messages: hello, tools: [search], max_tokens: 5, stream: true })
    const d = deltas(r)
    expect(d[0].content.startsWith('<think>')).toBe(true)
    expect(d[1].content.endsWith('</think>')).toBe(true)
    expect(d[2].tool_calls[0].function.name).toBe('search')
    expect(finishOf(r)).toBe('tool_calls')
  })

  it.each([
    [{ tools: 'search' }, 'tools', /array/],
    [{ tools: [{ type: 'function' }] }, 'tools[0].function', /object with a name/],
    [{ tools: [{ type: 'function', function: { name: '' } }] }, 'tools[0].function.name', /non-empty string/],
    [{ tools: [{ type: 'retrieval', function: { name: 'x' } }] }, 'tools[0].type', /"function"/],
    [{ tools: [{ type: 'function', function: { name: 'x', parameters: 'any' } }] }, 'tools[0].function.parameters', /JSON Schema/],
    [{ tools: [search], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice', /not in tools/],
    [{ tools: [search], tool_choice: 'sometimes' }, 'tool_choice', /"none", "auto", "required"/],
    [{ tool_choice: 'required' }, 'tool_choice', /tools/],
  ])('answers a bad tools request %j with a 400 naming %s', async (extra, param, message) => {
    const mock = await start()
    const res = await post(`${mock.url}/v1/chat/completions`, { messages: hello, max_tokens: 2, ...extra })
    expect(res.status).toBe(400)
    const { error }: any = await res.json()
    expect(error).toMatchObject({ type: 'BadRequestError', code: 400, param })
    expect(error.message).toMatch(message)
  })

  it('counts the tools in the prompt, and caches a tool call sent back so the next turn hits through it', async () => {
    const mock = await start()
    const url = `${mock.url}/v1/chat/completions`
    const question = [{ role: 'user', content: longText(200) }]
    const bare = (await (await post(url, { messages: question, max_tokens: 1 })).json()) as any
    await mock.resetCache()
    const first = (await (await post(url, { messages: question, tools: [search], max_tokens: 40 })).json()) as any
    const p1 = first.usage.prompt_tokens
    expect(p1).toBeGreaterThan(bare.usage.prompt_tokens)
    const call = first.choices[0].message.tool_calls[0]
    const followUp = [
      ...question,
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: 'nothing found' },
    ]
    const second = (await (await post(url, { messages: followUp, tools: [search], max_tokens: 2 })).json()) as any
    // Past the first turn's whole prompt: into the tool call's tokens.
    expect(second.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(p1)
    expect(second.usage.prompt_tokens_details.cached_tokens % 16).toBe(0)
  })
})
