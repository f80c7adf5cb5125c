import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, test } from 'vitest'
import { warmUpClient } from '../../../src/client/precision/warmUp.ts'
import { getTokenizer } from '../../../src/tokens/index.ts'
import { Http1Pool } from '../../../src/client/http1Pool.ts'
import type { RequestContext } from '../../../src/client/request.ts'

const tcp = (): number => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length

/** Waits (a bounded number of 10 ms turns) for sockets being destroyed to close, then counts them. */
async function tcpSettled(expected: number): Promise<number> {
  for (let i = 0; i < 100 && tcp() !== expected; i++) await sleep(10)
  return tcp()
}

/** A run's context: the warm-up copies it with its own server's address and headers. */
function runContext(overrides: Partial<RequestContext> = {}): RequestContext {
  return {
    dispatcher: new Http1Pool('http://127.0.0.1:9', { connections: 1, keepAliveTimeoutMs: 1_000, connectTimeoutMs: 1_000 }),
    path: '/v1/chat/completions',
    url: 'http://127.0.0.1:9/v1/chat/completions',
    kind: 'chat',
    headers: { authorization: 'Bearer secret' },
    generation: { model: 'm', maxTokens: 32, temperature: 0, stream: false }, // the warm-up streams anyway
    timeoutMs: 10_000,
    closeConnection: true,
    tokenizer: { encoding: 'o200k_base', encode: () => [], decode: () => '', count: () => 0, countLater: async () => 0, truncate: (t: string) => t },
    secrets: ['secret'],
    retries: 0,
    signal: new AbortController().signal,
    ...overrides,
  }
}

describe('warmUpClient', () => {
  // First in this file: a failed warm-up does not count as done, so the next test warms for real.
  test('fails, saying why, when its requests fail (here: the run was already aborted), and leaves nothing open', async () => {
    const before = tcp()
    const run = runContext({ signal: AbortSignal.abort() })
    await expect(warmUpClient('chat', run)).rejects.toThrow(/^\d+ of \d+ requests over loopback failed \(first: /)
    await run.dispatcher.close()
    // Connections the aborted requests had begun to open close a moment later.
    expect(await tcpSettled(before)).toBe(before)
  })

  test('streams over loopback, a call during a warm-up waits for it, and it leaves no server or socket open', async () => {
    const before = tcp()
    const counted: string[] = []
    const tokenizer = { ...(await getTokenizer()) }
    const count = tokenizer.count
    tokenizer.count = (text: string) => (counted.push(text), count(text))
    const run = runContext({ tokenizer })
    const first = warmUpClient('chat', run)
    const second = warmUpClient('chat')
    expect(await first).toMatchObject({ joined: false })
    expect((await first).seconds).toBeGreaterThan(0)
    expect(await second).toEqual({ seconds: (await first).seconds, joined: true })
    // Once it is over, the next call warms again (precision mode calls it after each collection it forces).
    const third = await warmUpClient('chat', run)
    expect(third.joined).toBe(false)
    expect(third.seconds).toBeGreaterThan(0)
    await run.dispatcher.close()
    expect(tcp()).toBe(before)
    // Some answers came without usage, so the run's tokenizer counted prompts and answers.
    expect(counted).toContain('warm-up')
    expect(counted.some((text) => text.split('tok').length > 100)).toBe(true)
  })
})
