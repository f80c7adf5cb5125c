import { afterEach, describe, expect, it } from 'vitest'
import { PrefixCache, blockKeys } from '../../src/mock/prefixCache.ts'
import { closeAll, longText, post, start, stream, usageOf } from './helpers.ts'

afterEach(closeAll)

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i)

describe('block keys (hash chain)', () => {
  it('keys only full blocks, and each key covers every token before it', () => {
    const a = blockKeys(range(0, 50), 16)
    expect(a).toHaveLength(3)
    const changedFirst = blockKeys([999, ...range(1, 49)], 16)
    // One token changed in block 0 changes every later key, though blocks 1 and 2 hold the same tokens.
    expect(changedFirst.every((key, i) => key !== a[i])).toBe(true)
    const changedLast = blockKeys([...range(0, 40), 999, ...range(41, 9)], 16)
    expect(changedLast.slice(0, 2)).toEqual(a.slice(0, 2))
    expect(changedLast[2]).not.toBe(a[2])
  })

  it('continues a chain from a parent key', () => {
    const whole = blockKeys(range(0, 64), 16)
    const tail = blockKeys(range(32, 32), 16, whole[1])
    expect(tail).toEqual(whole.slice(2))
  })
})

describe('PrefixCache', () => {
  it('finds the longest cached prefix', () => {
    const cache = new PrefixCache({ blockSize: 16, capacityTokens: 1600, enabled: true })
    const keys = blockKeys(range(0, 160), 16)
    cache.insert(keys.slice(0, 6))
    expect(cache.match(keys)).toBe(6)
    expect(cache.match(blockKeys([7, ...range(1, 159)], 16))).toBe(0)
  })

  it('evicts least recently used blocks, a chain losing its tail before its head', () => {
    const cache = new PrefixCache({ blockSize: 16, capacityTokens: 30 * 16, enabled: true })
    const a = blockKeys(range(0, 320), 16)
    const b = blockKeys(range(10_000, 320), 16)
    cache.insert(a)
    cache.insert(b)
    expect(cache.size).toBe(30)
    // B pushed out A's last ten blocks: A still hits on its first ten.
    expect(cache.match(a)).toBe(10)
    expect(cache.match(b)).toBe(20)
  })

  it('does nothing when disabled, and reset empties it', () => {
    const off = new PrefixCache({ blockSize: 16, capacityTokens: 1600, enabled: false })
    const keys = blockKeys(range(0, 64), 16)
    off.insert(keys)
    expect(off.match(keys)).toBe(0)
    const on = new PrefixCache({ blockSize: 16, capacityTokens: 1600, enabled: true })
    on.insert(keys)
    on.reset()
    expect(on.size).toBe(0)
    expect(on.match(keys)).toBe(0)
  })
})

/** Prefill dominates: 2,000 uncached tokens cost 200 ms, a warm request ~5 ms. */
const TIMED = { prefillTokensPerS: 10_000, baseLatencyMs: 5, itlMs: 1, itlPerSeqMs: 0, jitter: 0 }

async function complete(url: string, prompt: string, maxTokens = 4) {
  const r = await stream(`${url}/v1/completions`, { prompt, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } })
  expect(r.done).toBe(true)
  return { ttftMs: r.ttftMs!, cached: usageOf(r)!.prompt_tokens_details.cached_tokens as number, prompt: usageOf(r)!.prompt_tokens as number }
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`))
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1))
}

describe('prefix cache in the server', () => {
  const prompt = longText(2000)

  it('makes the same 2,000-token prompt much faster the second time, and /metrics shows the hits', async () => {
    const mock = await start(TIMED)
    const cold = await complete(mock.url, prompt)
    const warm = await complete(mock.url, prompt)
    expect(cold.prompt).toBe(2000)
    expect(cold.cached).toBe(0)
    // All full blocks of the first 1,999 tokens: the last token is always computed.
    expect(warm.cached).toBe(1984)
    expect(cold.ttftMs).toBeGreaterThanOrEqual(199)
    expect(warm.ttftMs).toBeLessThan(cold.ttftMs / 2)

    const text = await (await fetch(`${mock.url}/metrics`)).text()
    expect(metric(text, 'vllm:prefix_cache_queries_total')).toBe(4000)
    expect(metric(text, 'vllm:prefix_cache_hits_total')).toBe(1984)
    expect(metric(text, 'lmcache_hit_rate')).toBeCloseTo(1984 / 4000, 6)
    expect(metric(text, 'vllm:prompt_tokens_total')).toBe(4000)
    expect(metric(text, 'vllm:generation_tokens_total')).toBe(8)
    expect(metric(text, 'vllm:time_to_first_token_seconds_count')).toBe(2)
    expect(text).toContain('vllm:request_success_total{model_name="mock-llm",finished_reason="length"} 2')
    expect(metric(text, 'vllm:num_requests_running')).toBe(0)
    expect(metric(text, 'vllm:num_requests_waiting')).toBe(0)
    expect(metric(text, 'vllm:gpu_cache_usage_perc')).toBeGreaterThan(0)
    expect(mock.stats()).toMatchObject({ promptTokens: 4000, cachedTokens: 1984, cacheQueryTokens: 4000 })
  })

  it('gives no speed-up with the cache off', async () => {
    const mock = await start({ ...TIMED, prefixCache: false })
    const first = await complete(mock.url, prompt)
    const second = await complete(mock.url, prompt)
    expect(second.cached).toBe(0)
    // Lower bounds (the engine never answers before its modelled time): both pay the full 200 ms prefill.
    expect(first.ttftMs).toBeGreaterThanOrEqual(199)
    expect(second.ttftMs).toBeGreaterThanOrEqual(199)
    const text = await (await fetch(`${mock.url}/metrics`)).text()
    expect(metric(text, 'vllm:prefix_cache_hits_total')).toBe(0)
  })

  it('is cold again after POST /reset and POST /reset_prefix_cache', async () => {
    const mock = await start(TIMED)
    await complete(mock.url, prompt)
    for (const path of ['/reset', '/reset_prefix_cache']) {
      const reset = await fetch(`${mock.url}${path}`, { method: 'POST' })
      expect(reset.status).toBe(200)
      const again = await complete(mock.url, prompt)
      expect(again.cached).toBe(0)
      expect(again.ttftMs).toBeGreaterThanOrEqual(199)
    }
    await complete(mock.url, prompt)
    mock.resetCache()
    expect((await complete(mock.url, prompt)).cached).toBe(0)
  })

  it('reuses blocks only as far as two prompts agree from the start (hash chain)', async () => {
    const mock = await start()
    const shared = longText(160, 'x')
    await complete(mock.url, `${shared} ${longText(100, 'y')}`)
    const partial = await complete(mock.url, `${shared} ${longText(100, 'z')}`)
    expect(partial.cached).toBe(160)
    // The same words after a different start share nothing.
    const moved = await complete(mock.url, `${longText(100, 'w')} ${shared}`)
    expect(moved.cached).toBe(0)
  })

  it('evicts least recently used blocks at --cache-capacity-tokens', async () => {
    // Room for 40 blocks: two 320-token prompts (20 blocks each), not three.
    const mock = await start({ cacheCapacityTokens: 40 * 16 })
    const [a, b, c] = ['a', 'b', 'c'].map((salt) => longText(320, salt))
    await complete(mock.url, a!, 1)
    await complete(mock.url, b!, 1)
    expect((await complete(mock.url, a!, 1)).cached).toBe(304)
    // C pushes out the least recently used prompt, B; A stays.
    await complete(mock.url, c!, 1)
    expect((await complete(mock.url, a!, 1)).cached).toBe(304)
    expect((await complete(mock.url, b!, 1)).cached).toBe(0)
    expect(mock.stats().cacheBlocks).toBeLessThanOrEqual(40)
  })

  it('lets a chat follow-up hit through the previous turn and its assistant reply', async () => {
    const mock = await start()
    const url = `${mock.url}/v1/chat/completions`
    const first = [
      { role: 'system', content: 'You answer questions.' },
      { role: 'user', content: longText(300) },
    ]
    const turn1 = await stream(url, { messages: first, max_tokens: 60, stream: true, stream_options: { include_usage: true } })
    const prompt1 = usageOf(turn1)!.prompt_tokens as number
    const turn2 = await stream(url, {
      messages: [...first, { role: 'assistant', content: turn1.text }, { role: 'user', content: 'And then?' }],
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    })
    const cached = usageOf(turn2)!.prompt_tokens_details.cached_tokens as number
    // Beyond the first turn's prompt: the reply's blocks were cached as it was generated.
    expect(cached).toBeGreaterThan(prompt1)
    expect(cached % 16).toBe(0)
    const res = await post(url, { messages: first, max_tokens: 1 })
    expect(((await res.json()) as any).usage.prompt_tokens_details.cached_tokens).toBe(Math.floor((prompt1 - 1) / 16) * 16)
  })
})
