import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { newFastChunkFields, readFastChunk } from '../../src/client/fastChunk.ts'
import { decodeChunk } from '../../src/client/openai.ts'
import type { ChunkInfo } from '../../src/client/openai.ts'

/** The fast reader's answer as a ChunkInfo (what the client records from it), or null when it declines. */
function fastChunk(json: string, pad = ''): ChunkInfo | null {
  // Padding around the range checks that nothing is read outside it.
  const buf = Buffer.from(pad + json + pad)
  const start = Buffer.byteLength(pad)
  const end = start + Buffer.byteLength(json)
  const out = newFastChunkFields()
  if (!readFastChunk(buf, start, end, out)) return null
  const raw = buf.toString('utf8', out.textStart, out.textEnd)
  const text = out.escaped ? (JSON.parse(`"${raw}"`) as string) : raw
  return {
    text,
    reasoning: '',
    toolCalls: null,
    toolText: '',
    reasoningTokens: null,
    done: false,
    hasContent: text.length > 0,
    finishReason: out.finishReason,
    promptTokens: out.promptTokens >= 0 ? out.promptTokens : null,
    completionTokens: out.completionTokens >= 0 ? out.completionTokens : null,
    cachedTokens: null,
    promptEvaluated: null,
    errorMessage: null,
  }
}

// Strings with quotes, backslashes, key-like words, unicode escapes and multi-byte characters.
const tricky = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom('"content":"x"', '\\', '\\\\', '\\"', '"}],"usage":{"prompt_tokens":1}}', ' tok', '', 'a\nb', '\u2028', '"delta":{"content":"', '"choices":[]'),
)
const usage = fc.option(fc.record({ prompt_tokens: fc.nat(100000), completion_tokens: fc.nat(100000) }), { nil: undefined })

/** Chunks in the field order real servers write, plus variations that must be declined or agree. */
const chunk = fc.record({
  kind: fc.constantFrom('chat', 'completion'),
  id: fc.string({ maxLength: 8 }),
  model: tricky,
  content: tricky,
  role: fc.boolean(),
  logprobs: fc.boolean(),
  finish: fc.option(fc.constantFrom('stop', 'length', 'tool_calls'), { nil: null }),
  stopReason: fc.boolean(),
  matchedStop: fc.option(fc.constantFrom(2, '</s>'), { nil: null }),
  usage,
  vllmOrder: fc.boolean(),
  usageNull: fc.boolean(),
  secondChoice: fc.boolean(),
  // A usage chunk: no choices (vLLM's last chunk when asked for usage).
  noChoices: fc.boolean(),
  cachedTokens: fc.option(fc.nat(1000), { nil: undefined }),
}).map((c) => {
  const choice: Record<string, unknown> = { index: 0 }
  if (c.kind === 'chat') choice['delta'] = c.role ? { role: 'assistant', content: c.content } : { content: c.content }
  else choice['text'] = c.content
  if (c.logprobs) choice['logprobs'] = null
  choice['finish_reason'] = c.finish
  if (c.stopReason) choice['stop_reason'] = null
  // SGLang: null, or the stop token or string that ended the answer.
  if (c.matchedStop !== null || c.stopReason) choice['matched_stop'] = c.matchedStop
  const choices = c.noChoices ? [] : c.secondChoice ? [choice, { ...choice, index: 1 }] : [choice]
  const u: Record<string, unknown> | undefined = c.usage && (c.vllmOrder
    ? { prompt_tokens: c.usage.prompt_tokens, total_tokens: c.usage.prompt_tokens + c.usage.completion_tokens, completion_tokens: c.usage.completion_tokens }
    : { prompt_tokens: c.usage.prompt_tokens, completion_tokens: c.usage.completion_tokens, total_tokens: 1 })
  if (u && c.cachedTokens !== undefined) u['prompt_tokens_details'] = { cached_tokens: c.cachedTokens }
  return { id: c.id, object: c.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: 1, model: c.model, choices, ...(u ? { usage: u } : c.usageNull ? { usage: null } : {}) }
})

/** What a content-only chunk never carries. */
const NOTHING_ELSE = { reasoning: '', toolCalls: null, toolText: '', reasoningTokens: null, done: false }

describe('readFastChunk', () => {
  test('whenever it answers, it agrees with JSON.parse (compact and spaced serialisations, bytes around the range)', () => {
    let fast = 0
    const pads = fc.constantFrom('', '"}]}\\"', '{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}')
    fc.assert(fc.property(chunk, fc.boolean(), pads, (value, spaced, pad) => {
      const json = spaced ? JSON.stringify(value, null, 1) : JSON.stringify(value)
      const quick = fastChunk(json, pad)
      if (quick !== null) {
        fast++
        expect(quick).toEqual(decodeChunk(json))
      }
    }), { numRuns: 2000, seed: 11 })
    // The fast path must actually be taken for the common shapes.
    expect(fast).toBeGreaterThan(30)
  })

  test('takes the fast path for the shapes vLLM and the mock write', () => {
    expect(fastChunk('{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" tok"},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":8,"total_tokens":9,"completion_tokens":1}}'))
      .toEqual({ text: ' tok', hasContent: true, finishReason: null, promptTokens: 8, completionTokens: 1, cachedTokens: null, promptEvaluated: null, errorMessage: null, ...NOTHING_ELSE })
    expect(fastChunk('{"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"a\\"b","logprobs":null,"finish_reason":null}]}'))
      .toMatchObject({ text: 'a"b', hasContent: true })
  })

  test('takes the fast path for the shape OpenAI writes when asked for usage (`"usage":null` until the end)', () => {
    expect(fastChunk('{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}],"usage":null}'))
      .toEqual({ text: 'Hi', hasContent: true, finishReason: null, promptTokens: null, completionTokens: null, cachedTokens: null, promptEvaluated: null, errorMessage: null, ...NOTHING_ELSE })
    // Anything after it still declines.
    expect(fastChunk('{"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}],"usage":null,"x":1}')).toBeNull()
  })

  test("takes the fast path for vLLM's finish chunk and usage chunk, which end every stream", () => {
    expect(fastChunk('{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"length","stop_reason":null}]}'))
      .toEqual({ text: '', hasContent: false, finishReason: 'length', promptTokens: null, completionTokens: null, cachedTokens: null, promptEvaluated: null, errorMessage: null, ...NOTHING_ELSE })
    expect(fastChunk('{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"."},"finish_reason":"stop"}]}'))
      .toEqual({ text: '.', hasContent: true, finishReason: 'stop', promptTokens: null, completionTokens: null, cachedTokens: null, promptEvaluated: null, errorMessage: null, ...NOTHING_ELSE })
    expect(fastChunk('{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":12,"total_tokens":76,"completion_tokens":64}}'))
      .toEqual({ text: '', hasContent: false, finishReason: null, promptTokens: 12, completionTokens: 64, cachedTokens: null, promptEvaluated: null, errorMessage: null, ...NOTHING_ELSE })
  })

  test("takes the fast path for the chunk that opens vLLM's chat streams (the role, then empty content)", () => {
    expect(fastChunk('{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}'))
      .toEqual({ text: '', hasContent: false, finishReason: null, promptTokens: null, completionTokens: null, cachedTokens: null, promptEvaluated: null, errorMessage: null, ...NOTHING_ELSE })
    // With text, it is a token, as JSON.parse's path counts it.
    expect(fastChunk('{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}'))
      .toMatchObject({ text: 'Hi', hasContent: true })
  })

  test("takes the fast path for SGLang's chunks (`\"matched_stop\":null` in the choice)", () => {
    expect(fastChunk('{"id":"a1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null,"matched_stop":null}]}'))
      .toEqual({ text: ' the', hasContent: true, finishReason: null, promptTokens: null, completionTokens: null, cachedTokens: null, promptEvaluated: null, errorMessage: null, ...NOTHING_ELSE })
    expect(fastChunk('{"id":"a1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"length","matched_stop":null}]}'))
      .toMatchObject({ text: '', hasContent: false, finishReason: 'length' })
    // A stop token or string that matched is not read here.
    expect(fastChunk('{"id":"a1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"stop","matched_stop":151645}]}')).toBeNull()
  })

  test('declines other roles, a role after the content, reasoning, tool calls, other finish reasons, usage with details, errors and broken JSON', () => {
    for (const json of [
      '{"choices":[{"index":0,"delta":{"role":"tool","content":""},"finish_reason":null}]}',
      '{"choices":[{"index":0,"delta":{"content":"","role":"assistant"},"finish_reason":null}]}',
      '{"choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning_content":null},"finish_reason":null}]}',
      '{"choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]}',
      '{"choices":[{"index":0,"delta":{"reasoning_content":"r"},"finish_reason":null}]}',
      '{"choices":[{"index":0,"delta":{"content":"a","tool_calls":[]},"finish_reason":null}]}',
      '{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"tool_calls"}]}',
      '{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop","stop_reason":"</s>"}]}',
      '{"id":"x","choices":[],"usage":{"prompt_tokens":12,"total_tokens":76,"completion_tokens":64,"prompt_tokens_details":{"cached_tokens":8}}}',
      '{"id":"x","object":"chat.completion.chunk","choices":[]}',
      '{"id":"x","object":"chat.completion.chunk","choices":[],"usage":null}',
      '{"error":{"message":"boom","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}}',
      '{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}',
    ]) expect(fastChunk(json)).toBeNull()
    expect(() => decodeChunk('{"id":"x","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}')).toThrow(SyntaxError)
  })
})
