// Reconstructions of real servers' streams (fixtures/real-sse/, each one's origin in fixtures/README.md): a
// reasoning model behind vLLM and behind SGLang, a vLLM tool-call stream, a vLLM Responses stream, and <think>
// tags streamed as plain content. Each is replayed through the real client against a raw local server that
// writes the fixture's events one at a time, STEP_MS apart, with a longer PAUSE_MS before the event that starts
// the answer, so the record's phases can be checked against known times (with tolerances: the machine is loaded).
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RequestRecord } from '../../src/types.ts'
import { contextFor, send } from '../helpers/client.ts'

const STEP_MS = 20
const PAUSE_MS = 150

/** A fixture's events, each with its blank line: `data: …\n\n` (Responses: `event: …\ndata: …\n\n`). */
function events(name: string): string[] {
  const raw = readFileSync(new URL(`../../fixtures/real-sse/${name}`, import.meta.url), 'utf8')
  return raw.split('\n\n').filter((e) => e !== '').map((e) => `${e}\n\n`)
}

type Paced = { text: string; pauseMs: number }
/** STEP_MS before every event but the first, PAUSE_MS before the first one containing `answerStart`. */
function paced(list: string[], answerStart: string): Paced[] {
  const at = list.findIndex((e) => e.includes(answerStart))
  if (at < 0) throw new Error(`no event contains ${answerStart}`)
  return list.map((text, i) => ({ text, pauseMs: i === 0 ? 0 : i === at ? PAUSE_MS : STEP_MS }))
}

let plan: Paced[] = []
let lastRequest = { url: '', body: '' }
let server: Server
let base: string
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', async () => {
      lastRequest = { url: req.url ?? '', body }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' })
      for (const e of plan) {
        if (e.pauseMs > 0) await new Promise((r) => setTimeout(r, e.pauseMs))
        if (res.destroyed) return
        res.write(e.text)
      }
      res.end()
    })
  }).listen(0, '127.0.0.1')
  await new Promise((r) => server.once('listening', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => {
  server.closeAllConnections()
  server.close(() => r())
}))

/** Replays `list` and returns the record, and the tokenizer's count of `text` (for usage-less reasoning). */
async function replay(list: Paced[], path: string, generation: NonNullable<Parameters<typeof contextFor>[1]>['generation'] = {}): Promise<{ r: RequestRecord; count: (text: string) => number }> {
  plan = list
  const { ctx, endpoint } = contextFor(base + path, { generation })
  try {
    const r = await send(ctx, 'What is the capital of France?')
    return { r, count: (text) => ctx.tokenizer.count(text) }
  } finally {
    await endpoint.close()
  }
}

const ones = (n: number): number[] => Array.from({ length: n }, () => 1)

/** Phase timings every reasoning record must satisfy: the pause before the answer shows, and timeMs is its definition. */
function expectPhases(r: RequestRecord, reasoningChunks: number): void {
  expect(r.reasoning?.chunks).toBe(reasoningChunks)
  expect(r.ttftMs).toBe(r.chunkOffsetsMs[0])
  expect(r.reasoning?.firstMs).toBe(r.ttftMs)
  expect(r.ttfatMs).toBe(r.chunkOffsetsMs[reasoningChunks])
  expect(r.ttfatMs! - r.ttftMs!).toBeGreaterThanOrEqual(100)
  expect(r.reasoning!.timeMs).toBeCloseTo(r.ttfatMs! - r.reasoning!.firstMs, 6)
  // The reasoning chunks came STEP_MS apart (half of it allowed for a loaded machine).
  expect(r.chunkOffsetsMs[reasoningChunks - 1]! - r.chunkOffsetsMs[0]!).toBeGreaterThanOrEqual((reasoningChunks - 1) * STEP_MS * 0.5)
}

describe('reconstructed reasoning streams', () => {
  test('vLLM, deepseek_r1 parser: `reasoning` deltas, the hidden </think> token in the first answer chunk\'s usage, no reasoning_tokens in usage', async () => {
    const { r, count } = await replay(paced(events('vllm-reasoning-chat-stream.txt'), '"content":"\\n\\n"'), '/v1/chat/completions')
    expect(r).toMatchObject({ ok: true, status: 200, finishReason: 'stop', inputTokens: 12, inputTokenSource: 'usage', outputTokens: 29, outputTokenSource: 'usage' })
    expect(r.outputText).toBe('\n\nThe capital of France is Paris.')
    // 19 reasoning chunks, then 8 answer chunks; the role chunk and the finish chunk carry no text.
    expect(r.chunkOffsetsMs).toHaveLength(27)
    expectPhases(r, 19)
    // vLLM's chat usage has no completion_tokens_details: the reasoning is counted by the tokenizer.
    const reasoningText = 'Okay, so the user wants to know the capital of France. I remember it\'s Paris.\n'
    expect(r.reasoning).toMatchObject({ tokenSource: 'tokenizer', tokens: count(reasoningText) })
    expect(r.reasoning!.tokens).toBeLessThan(r.outputTokens)
    // Continuous usage: one token a chunk, two in the first answer chunk (</think> sent no chunk of its own).
    expect(r.chunkTokens).toEqual([...ones(19), 2, ...ones(7)])
    expect(r.toolCalls).toBeUndefined()
    expect(r.noDoneMarker).toBeUndefined()
  })

  test('SGLang, qwen3 parser: `reasoning_content` deltas, `reasoning_content: null` on answer chunks, reasoning_tokens at the top of usage', async () => {
    const { r } = await replay(paced(events('sglang-reasoning-chat-stream.txt'), '"content":"\\n\\n"'), '/v1/chat/completions')
    expect(r).toMatchObject({ ok: true, status: 200, finishReason: 'stop', inputTokens: 15, inputTokenSource: 'usage', outputTokens: 28, outputTokenSource: 'usage', cachedTokens: null })
    expect(r.outputText).toBe('\n\nThe capital of France is Paris.')
    // 17 reasoning chunks (<think> and </think> sent none), then 8 answer chunks.
    expect(r.chunkOffsetsMs).toHaveLength(25)
    expectPhases(r, 17)
    // <think> rides on the first reasoning chunk's usage, </think> on the first answer chunk's.
    expect(r.chunkTokens).toEqual([2, ...ones(16), 2, ...ones(7)])
    // SGLang reports the reasoning tokens as `usage.reasoning_tokens` (UsageInfo in its protocol.py), not under
    // completion_tokens_details: 19, every output token up to and including </think> (its scheduler's count).
    // A client that looks only under completion_tokens_details counts the text instead (16 with o200k).
    expect(r.reasoning).toMatchObject({ tokenSource: 'usage', tokens: 19 })
    expect(r.toolCalls).toBeUndefined()
  })

  test('vLLM, hermes tool parser: a tool_calls delta with id, type and name, then argument fragments; finish_reason tool_calls', async () => {
    const { r } = await replay(paced(events('vllm-tool-call-chat-stream.txt'), '"tool_calls"'), '/v1/chat/completions')
    expect(r).toMatchObject({ ok: true, status: 200, finishReason: 'tool_calls', inputTokens: 179, outputTokens: 21, outputTokenSource: 'usage', outputText: '' })
    // The name chunk and six argument fragments are the answer; nothing reasoned.
    expect(r.chunkOffsetsMs).toHaveLength(7)
    expect(r.reasoning).toBeUndefined()
    expect(r.ttftMs).toBe(r.chunkOffsetsMs[0])
    expect(r.ttfatMs).toBe(r.ttftMs)
    expect(r.toolCalls).toEqual({ count: 1, firstMs: r.ttftMs })
    // The role chunk came at once; the first tool-call delta PAUSE_MS later (the parser held the tokens before the name).
    expect(r.ttftMs).toBeGreaterThanOrEqual(100)
    expect(r.chunkTokens).toBeUndefined()
  })

  test('vLLM Responses API, qwen3 parser: reasoning_text deltas then output_text deltas, usage and status from response.completed', async () => {
    const { r } = await replay(paced(events('vllm-responses-stream.txt'), 'event: response.reasoning_text.done'), '/v1/responses')
    // The endpoint's path made the client speak the Responses API.
    expect(lastRequest.url).toBe('/v1/responses')
    expect(JSON.parse(lastRequest.body)).toMatchObject({ input: [{ role: 'user', content: 'What is the capital of France?' }], stream: true })
    expect(r).toMatchObject({
      ok: true, status: 200, finishReason: 'stop',
      inputTokens: 15, inputTokenSource: 'usage', outputTokens: 28, outputTokenSource: 'usage', cachedTokens: 0, cachedTokenSource: 'usage',
    })
    expect(r.outputText).toBe('\n\nThe capital of France is **Paris**.')
    // 15 response.reasoning_text.delta, then 10 response.output_text.delta; the other events carry no new output.
    expect(r.chunkOffsetsMs).toHaveLength(25)
    expectPhases(r, 15)
    expect(r.reasoning).toMatchObject({ tokenSource: 'usage', tokens: 15 })
    expect(r.toolCalls).toBeUndefined()
    // response.completed ends the stream: there is no [DONE], and none is missed.
    expect(r.noDoneMarker).toBeUndefined()
  })
})

describe('<think> tags streamed as content (no reasoning parser)', () => {
  const list = (): Paced[] => paced(events('think-tags-chat-stream.txt'), '"content":"\\n\\n"')
  const answer = '\n\nThe capital of France is **Paris**.'

  test('with reasoningTags: content up to </think> (split as `</thi` + `nk>`) is reasoning, the rest the answer', async () => {
    const { r, count } = await replay(list(), '/v1/chat/completions', { reasoningTags: true })
    expect(r).toMatchObject({ ok: true, finishReason: 'stop', outputTokens: 28, outputTokenSource: 'usage' })
    expect(r.outputText).toBe(answer)
    expect(r.chunkOffsetsMs).toHaveLength(28)
    // <think>, 15 chunks of thinking, and the two halves of </think>.
    expectPhases(r, 18)
    expect(r.reasoning).toMatchObject({ tokenSource: 'tokenizer', tokens: count('\nOkay, the user wants the capital of France. It\'s Paris.\n') })
  })

  test('without it, the thinking stays in the answer', async () => {
    const { r } = await replay(list(), '/v1/chat/completions')
    expect(r).toMatchObject({ ok: true, finishReason: 'stop', outputTokens: 28 })
    expect(r.outputText).toBe(`<think>\nOkay, the user wants the capital of France. It's Paris.\n</think>${answer}`)
    expect(r.chunkOffsetsMs).toHaveLength(28)
    expect(r.reasoning).toBeUndefined()
    expect(r.ttfatMs).toBe(r.ttftMs)
  })
})
