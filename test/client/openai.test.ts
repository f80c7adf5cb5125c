import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { apiKindOf, buildPayload, decodeChunk } from '../../src/client/openai.ts'

describe('buildPayload', () => {
  test('chat streaming asks for usage, continuous usage and sends both max-token fields', () => {
    const body = JSON.parse(buildPayload('chat', [{ role: 'user', content: 'hi' }], { model: 'm', maxTokens: 7 }))
    expect(body).toMatchObject({
      model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 7, max_completion_tokens: 7, stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
    })
  })

  test('completions render the conversation as a prompt; no-stream sends no stream_options', () => {
    const body = JSON.parse(buildPayload('completions', [{ role: 'user', content: 'q' }], { model: 'm', stream: false }))
    expect(body.prompt).toBe('q')
    expect(body.stream).toBe(false)
    expect(body.stream_options).toBeUndefined()
  })

  test('the endpoint path decides the API kind', () => {
    expect(apiKindOf('http://h/v1/chat/completions')).toBe('chat')
    expect(apiKindOf('http://h/v1/completions')).toBe('completions')
  })
})

describe('decodeChunk', () => {
  test('a role-only chunk carries no content', () => {
    const info = decodeChunk('{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}')
    expect(info.hasContent).toBe(false)
  })

  test('content, reasoning and tool-call deltas all count as content', () => {
    expect(decodeChunk('{"choices":[{"delta":{"content":"a"}}]}').hasContent).toBe(true)
    expect(decodeChunk('{"choices":[{"delta":{"reasoning_content":"think"}}]}')).toMatchObject({ reasoning: 'think', text: '', hasContent: true })
    expect(decodeChunk('{"choices":[{"delta":{"reasoning":"think"}}]}')).toMatchObject({ reasoning: 'think', text: '', hasContent: true })
    expect(decodeChunk('{"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}')).toMatchObject({ toolCalls: [0], hasContent: true })
    expect(decodeChunk('{"choices":[{"text":"t","finish_reason":null}]}').hasContent).toBe(true)
  })

  test('reads usage with cached tokens from a choices:[] usage chunk', () => {
    const info = decodeChunk('{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":8}}}')
    expect(info).toMatchObject({ hasContent: false, promptTokens: 10, completionTokens: 3, cachedTokens: 8 })
  })

  test('reads llama.cpp usage and timings from the finish chunk of a recorded stream', () => {
    const raw = readFileSync(new URL('../../fixtures/real-sse/llamacpp-b4748-chat-stream.txt', import.meta.url), 'utf8')
    const last = raw.split('\n\n').filter((b) => b.startsWith('data: {')).at(-1) as string
    const info = decodeChunk(last.slice(6))
    expect(info).toMatchObject({ finishReason: 'length', promptTokens: 35, completionTokens: 16, promptEvaluated: 35, cachedTokens: null })
  })

  test('an error object inside the stream is surfaced', () => {
    expect(decodeChunk('{"error":{"message":"boom"}}').errorMessage).toBe('boom')
  })

  test('invalid JSON throws', () => {
    expect(() => decodeChunk('{nope')).toThrow(SyntaxError)
  })
})
