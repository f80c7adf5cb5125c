import { describe, expect, test } from 'vitest'
import { turbofanThresholdFlag, warmUpClient } from '../../src/client/warmUp.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import { Http1Pool } from '../../src/client/http1Pool.ts'
import type { RequestContext } from '../../src/client/request.ts'

const tcp = (): number => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length

describe('warmUpClient', () => {
  test('streams over loopback once per process and leaves no server or socket open', async () => {
    const before = tcp()
    const counted: string[] = []
    const tokenizer = { ...(await getTokenizer()) }
    const count = tokenizer.count
    tokenizer.count = (text: string) => (counted.push(text), count(text))
    // The run's context: the warm-up copies it with its own server's address and headers.
    const run: RequestContext = {
      dispatcher: new Http1Pool('http://127.0.0.1:9', { connections: 1, keepAliveTimeoutMs: 1_000, connectTimeoutMs: 1_000 }),
      path: '/v1/chat/completions',
      url: 'http://127.0.0.1:9/v1/chat/completions',
      kind: 'chat',
      headers: { authorization: 'Bearer secret' },
      generation: { model: 'm', maxTokens: 32, temperature: 0, stream: false }, // the warm-up streams anyway
      timeoutMs: 10_000,
      closeConnection: true,
      tokenizer,
      secrets: ['secret'],
      retries: 0,
      signal: new AbortController().signal,
    }
    const first = warmUpClient('chat', run)
    expect(warmUpClient('chat')).toBe(first)
    await first
    await run.dispatcher.close()
    expect(tcp()).toBe(before)
    // Some answers came without usage, so the run's tokenizer counted prompts and answers.
    expect(counted).toContain('warm-up')
    expect(counted.some((text) => text.split('tok').length > 100)).toBe(true)
  })

  test('lowers the TurboFan threshold unless Node was started with one (argument or NODE_OPTIONS)', () => {
    expect(turbofanThresholdFlag([], '')).toBe('--invocation-count-for-turbofan=600')
    expect(turbofanThresholdFlag(['--max-semi-space-size=8'], '--enable-source-maps')).toBe('--invocation-count-for-turbofan=600')
    expect(turbofanThresholdFlag(['--invocation-count-for-turbofan=3000'], '')).toBeUndefined()
    expect(turbofanThresholdFlag([], '--max-old-space-size=4096 --invocation_count_for_turbofan=100')).toBeUndefined()
  })
})
