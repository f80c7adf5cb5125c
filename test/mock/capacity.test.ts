import { afterEach, describe, expect, it } from 'vitest'
import { type MockServerOptions, mockSaturation } from '../../src/mock/index.ts'
import { closeAll, longText, post, start, usageOf, stream } from './helpers.ts'

afterEach(closeAll)

describe('mockSaturation', () => {
  it('is the seat limit when nothing else is: maxNumSeqs / ((outputTokens − ½) × itl)', () => {
    // No prefill time, no base latency, a fixed ITL: a request holds a seat for its first token's half
    // step and its 19 steps after it.
    const options: MockServerOptions = { prefillTokensPerS: Infinity, baseLatencyMs: 0, itlMs: 10, itlPerSeqMs: 0, maxNumSeqs: 8 }
    const sat = mockSaturation(options, { inputTokens: 100, outputTokens: 20 })
    expect(sat.requestsPerS).toBeCloseTo((8 / (19.5 * 10)) * 1000, 6)
    expect(sat).toMatchObject({ prefillMs: 0, itlMs: 10, stepMs: 10, gpuRequestsPerS: Infinity })
    expect(sat.running).toBeCloseTo(8, 6)
    // timeScale divides every duration, so it multiplies the rate.
    expect(mockSaturation({ ...options, timeScale: 0.1 }, { inputTokens: 100, outputTokens: 20 }).requestsPerS).toBeCloseTo(sat.requestsPerS * 10, 6)
  })

  it('is the GPU limit when seats are plenty: 1 / (prefill + outputs × itlPerSeqMs) with stalls, 1 / prefill without', () => {
    const options: MockServerOptions = { prefillTokensPerS: 10_000, baseLatencyMs: 0, itlMs: 1, itlPerSeqMs: 0.1, maxNumSeqs: 1_000_000 }
    const workload = { inputTokens: 1000, outputTokens: 101 }
    // 100 ms of prefill, and 100 steps × 0.1 ms of marginal decode per request.
    const stalls = mockSaturation(options, workload)
    expect(stalls.requestsPerS).toBeCloseTo(1000 / (100 + 10), 3)
    expect(stalls.requestsPerS).toBeLessThan(stalls.gpuRequestsPerS)
    expect(stalls.gpuRequestsPerS).toBeCloseTo(1000 / 110, 6)
    const noStalls = mockSaturation({ ...options, prefillStallsDecode: false }, workload)
    expect(noStalls.requestsPerS).toBeCloseTo(10, 3)
    // Half the prompt cached: half the prefill.
    expect(mockSaturation(options, { ...workload, cachedShare: 0.5 }).gpuRequestsPerS).toBeCloseTo(1000 / (50 + 10), 6)
  })

  it('falls as prompts or outputs grow, and is lower with stalls than without', () => {
    const base = mockSaturation({}, { inputTokens: 1000, outputTokens: 128 }).requestsPerS
    expect(base).toBeGreaterThan(0)
    expect(mockSaturation({}, { inputTokens: 4000, outputTokens: 128 }).requestsPerS).toBeLessThan(base)
    expect(mockSaturation({}, { inputTokens: 1000, outputTokens: 512 }).requestsPerS).toBeLessThan(base)
    expect(mockSaturation({ prefillStallsDecode: false }, { inputTokens: 1000, outputTokens: 128 }).requestsPerS).toBeGreaterThan(base)
  })
})

describe('the mock saturates at the computed rate', () => {
  // Steps of 5–13 ms (itl 10 + 2 per extra sequence, halved), 20 ms of prefill per request: the seats,
  // the ITL growth and the prefill stalls all count. About 25 requests/s.
  const OPTIONS: MockServerOptions = {
    maxNumSeqs: 8,
    itlMs: 10,
    itlPerSeqMs: 2,
    prefillTokensPerS: 10_000,
    baseLatencyMs: 5,
    timeScale: 0.5,
    jitter: 0,
    prefixCache: false,
  }
  const OUTPUT_TOKENS = 20

  /** Sends requests evenly spaced at `factor` × the computed rate for `seconds`; samples `waiting` each 100 ms. */
  async function openLoop(factor: number, seconds: number) {
    const mock = await start(OPTIONS)
    // What the mock counts for this prompt (its tokenizer), from a request's usage.
    const probe = await stream(`${mock.url}/v1/completions`, {
      prompt: longText(400, 'probe'),
      max_tokens: 1,
      stream: true,
      stream_options: { include_usage: true },
    })
    const inputTokens = usageOf(probe)!.prompt_tokens as number
    expect(inputTokens).toBe(400)
    const sat = mockSaturation(OPTIONS, { inputTokens, outputTokens: OUTPUT_TOKENS })
    const interval = 1000 / (factor * sat.requestsPerS)
    const count = Math.floor((seconds * 1000) / interval)
    const waiting: number[] = []
    const pending: Promise<unknown>[] = []
    const sampler = setInterval(() => waiting.push(mock.stats().waiting), 100)
    const t0 = performance.now()
    try {
      for (let i = 0; i < count; i++) {
        // Open loop against absolute send times: a late timer sends at once, never skips a request.
        const wait = t0 + i * interval - performance.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        // A distinct prompt of the same 400 tokens (the salt is letters: digits would be tokens of their own).
        const body = { prompt: longText(400, `r${String.fromCharCode(97 + (i % 26), 97 + Math.floor(i / 26) % 26)}`), max_tokens: OUTPUT_TOKENS, stream: true }
        pending.push(post(`${mock.url}/v1/completions`, body).then((res) => res.text()).catch(() => undefined))
      }
    } finally {
      clearInterval(sampler)
    }
    waiting.push(mock.stats().waiting)
    await mock.close()
    await Promise.all(pending)
    return { sat, waiting, count }
  }

  it('at 0.7 × the rate, nothing queues for long', async () => {
    const { waiting } = await openLoop(0.7, 3)
    // Bounded: a passing bunch-up at most, never a growing queue.
    expect(Math.max(...waiting)).toBeLessThanOrEqual(3)
    expect(waiting.at(-1)!).toBeLessThanOrEqual(2)
  }, 10_000)

  it('at 1.4 × the rate, the queue grows', async () => {
    const { sat, waiting, count } = await openLoop(1.4, 3)
    const middle = waiting[Math.floor(waiting.length / 2)]!
    const end = waiting.at(-1)!
    // The excess arrives at 0.4 × the rate: about 12 requests in the second half (a loaded machine sends
    // some late, but the open loop catches up), none of which the mock serves.
    const expected = 0.4 * sat.requestsPerS * 1.5
    expect(middle).toBeGreaterThan(0)
    expect(end).toBeGreaterThanOrEqual(middle + Math.max(4, expected / 3))
    expect(end).toBeGreaterThan(1.3 * middle)
    expect(end).toBeLessThan(count)
  }, 10_000)
})
