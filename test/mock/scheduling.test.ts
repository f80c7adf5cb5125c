import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Engine, type EngineOptions, type Sequence } from '../../src/mock/engine.ts'
import { mockEchoTag } from '../../src/mock/index.ts'
import { closeAll, jsonChunks, post, start, stream, usageOf } from './helpers.ts'

afterEach(closeAll)

const ENGINE: EngineOptions = {
  prefillTokensPerS: 1_000_000,
  baseLatencyMs: 0,
  itlMs: 1,
  itlPerSeqMs: 0,
  maxNumSeqs: 256,
  jitter: 0,
  seed: 0,
  timeScale: 1,
  prefixCache: true,
  blockSize: 16,
  cacheCapacityTokens: 100_000,
  prefillStallsDecode: true,
}

/** Runs sequences to completion, recording first-token order and the running count seen at each step. */
function runAll(engine: Engine, count: number, maxTokens: number, onStep?: (seq: Sequence) => void) {
  const firstTokenOrder: number[] = []
  const finishOrder: number[] = []
  let maxRunning = 0
  const done = Array.from(
    { length: count },
    (_, i) =>
      new Promise<void>((resolve) => {
        engine.submit({
          promptTokens: [i + 1, 2, 3, 4, 5],
          maxTokens,
          tokensPerChunk: 1,
          listener: {
            onTokens(seq, n) {
              maxRunning = Math.max(maxRunning, engine.stats().running)
              if (seq.generated === n) firstTokenOrder.push(i)
              onStep?.(seq)
              if (seq.done) {
                finishOrder.push(i)
                resolve()
              }
            },
          },
        })
      }),
  )
  return { all: Promise.all(done), firstTokenOrder, finishOrder, maxRunning: () => maxRunning }
}

describe('engine scheduling', () => {
  it('runs at most max-num-seqs at once and admits the rest in FIFO order', async () => {
    const engine = new Engine({ ...ENGINE, maxNumSeqs: 3 })
    const run = runAll(engine, 10, 5)
    expect(engine.stats()).toMatchObject({ running: 3, waiting: 7 })
    await run.all
    expect(run.maxRunning()).toBe(3)
    expect(run.firstTokenOrder).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(run.finishOrder).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(engine.stats()).toMatchObject({ running: 0, waiting: 0, completed: 10, generationTokens: 50 })
  })

  it('frees the seat of a cancelled sequence for the next waiting one', async () => {
    const engine = new Engine({ ...ENGINE, maxNumSeqs: 1 })
    const blocker = engine.submit({ promptTokens: [1, 2, 3], maxTokens: 1_000_000, tokensPerChunk: 1, listener: { onTokens() {} } })
    const run = runAll(engine, 2, 3)
    expect(engine.stats()).toMatchObject({ running: 1, waiting: 2 })
    engine.cancel(blocker)
    await run.all
    expect(engine.stats()).toMatchObject({ cancelled: 1, completed: 2, running: 0 })
    engine.close()
  })

  it('serialises prefills, so a burst of long prompts raises TTFT for the later ones', async () => {
    // Each 1,000-token prompt costs 20 ms of prefill; ten at once: the last waits for nine others.
    const engine = new Engine({ ...ENGINE, prefillTokensPerS: 50_000 })
    const started = performance.now()
    const ttft: number[] = []
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const tokens = Array.from({ length: 1000 }, (_, k) => i * 10_000 + k)
        return new Promise<void>((resolve) =>
          engine.submit({
            promptTokens: tokens,
            maxTokens: 1,
            tokensPerChunk: 1,
            listener: {
              onTokens() {
                ttft[i] = performance.now() - started
                resolve()
              },
            },
          }),
        )
      }),
    )
    // Lower bounds only: the engine never emits before its modelled time.
    for (let i = 0; i < 10; i++) expect(ttft[i]).toBeGreaterThanOrEqual(20 * (i + 1) - 1)
  })

  it('slows every step as more sequences run (itl = itlMs + itlPerSeqMs × (running − 1))', async () => {
    const engine = new Engine({ ...ENGINE, itlMs: 2, itlPerSeqMs: 2 })
    // 10 sequences of 11 tokens: 10 steps after the first, each 2 + 2 × 9 = 20 ms after the last one's
    // target time. Steps are anchored to target times, not to when a (late) timer ran, so the bound is
    // measured from submission: a late first step would shorten a first-to-last gap, not the total.
    const lastAt: number[] = []
    const submittedAt = performance.now()
    await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) =>
          new Promise<void>((resolve) =>
            engine.submit({
              promptTokens: [i, 1, 2],
              maxTokens: 11,
              tokensPerChunk: 1,
              listener: {
                onTokens(seq) {
                  if (seq.done) {
                    lastAt[i] = performance.now()
                    resolve()
                  }
                },
              },
            }),
          ),
      ),
    )
    // Timers may fire up to ~1 ms before their target (libuv's millisecond clock), hence the tolerance.
    for (let i = 0; i < 10; i++) expect(lastAt[i]! - submittedAt).toBeGreaterThanOrEqual(10 * 20 - 2)
  })
})

describe('prefill stalls decode', () => {
  /**
   * Two sequences decode at 10 ms a step; after their 5th token a 2,000-token prompt arrives, 200 ms of
   * prefill at 10,000 tokens/s. Returns the decoding sequences' tokens emitted while that prefill ran
   * (from its submission to its first token), their largest gap between tokens, and the long one's TTFT.
   */
  async function decodeAroundPrefill(prefillStallsDecode: boolean) {
    const engine = new Engine({ ...ENGINE, itlMs: 10, itlPerSeqMs: 0, prefillTokensPerS: 10_000, prefixCache: false, prefillStallsDecode })
    const times: number[][] = [[], []]
    let prefillFrom = Infinity
    let prefillTo = Infinity
    const long = Array.from({ length: 2000 }, (_, k) => 100 + k)
    const submitLong = () =>
      new Promise<void>((resolve) => {
        prefillFrom = performance.now()
        engine.submit({
          promptTokens: long,
          maxTokens: 1,
          tokensPerChunk: 1,
          listener: {
            onTokens() {
              prefillTo = performance.now()
              resolve()
            },
          },
        })
      })
    let longDone: Promise<void> | undefined
    await Promise.all(
      [0, 1].map(
        (i) =>
          new Promise<void>((resolve) =>
            engine.submit({
              promptTokens: [i, 1, 2],
              maxTokens: 40,
              tokensPerChunk: 1,
              listener: {
                onTokens(seq) {
                  times[i]!.push(performance.now())
                  if (i === 0 && seq.generated === 5) longDone = submitLong()
                  if (seq.done) resolve()
                },
              },
            }),
          ),
      ),
    )
    await longDone
    engine.close()
    const during = times.map((t) => t.filter((at) => at > prefillFrom && at < prefillTo).length)
    const maxGap = times.map((t) => Math.max(...t.slice(1).map((at, k) => at - t[k]!)))
    return { during, maxGap, ttft: prefillTo - prefillFrom }
  }

  it('holds the running batch while a prefill runs: its ITL around it grows by about the prefill time', async () => {
    const { during, maxGap, ttft } = await decodeAroundPrefill(true)
    // The engine never emits before its modelled time (give or take the timers' millisecond): the batch
    // gets no step in during the 200 ms prefill but the one at its end, and one gap spans it.
    expect(ttft).toBeGreaterThanOrEqual(199)
    for (const n of during) expect(n).toBeLessThanOrEqual(2)
    for (const gap of maxGap) expect(gap).toBeGreaterThanOrEqual(195)
  })

  it('decodes through the prefill with prefillStallsDecode off', async () => {
    const { during, ttft } = await decodeAroundPrefill(false)
    expect(ttft).toBeGreaterThanOrEqual(199)
    // About 20 steps of 10 ms fit in the 200 ms prefill; a loaded machine may run fewer.
    for (const n of during) expect(n).toBeGreaterThanOrEqual(8)
  })
})

describe('queueing through HTTP', () => {
  it('makes requests beyond max-num-seqs wait their turn', async () => {
    // One seat; each request decodes 10 tokens at 10 ms: request k cannot start before k − 1 others finished.
    const mock = await start({ maxNumSeqs: 1, itlMs: 10 })
    const origin = performance.now()
    const responses: Response[] = []
    // Await each response's headers (sent on arrival) so the arrival order is fixed.
    for (let k = 0; k < 4; k++) {
      responses.push(await post(`${mock.url}/v1/completions`, { prompt: `request ${k}`, max_tokens: 10, stream: true }))
    }
    const firstTokenAt = await Promise.all(
      responses.map(async (res) => {
        const reader = res.body!.getReader()
        let first = Infinity
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          if (first === Infinity && new TextDecoder().decode(value).includes('"text"')) first = performance.now() - origin
        }
        return first
      }),
    )
    // Each request's last step may run up to ~1 ms before its target (libuv's millisecond timer clock),
    // and the next request starts from when it ran: allow that once per request ahead.
    for (let k = 0; k < 4; k++) expect(firstTokenAt[k]).toBeGreaterThanOrEqual(k * 9 * 10 - 2 * k - 1)
    expect(mock.stats()).toMatchObject({ completed: 4, running: 0, waiting: 0 })
  })
})

describe('client going away', () => {
  it('cancels the sequence and frees its seat', async () => {
    const mock = await start({ maxNumSeqs: 1, itlMs: 5 })
    const abort = new AbortController()
    const res = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'long' }], max_tokens: 30_000, stream: true }),
      signal: abort.signal,
    })
    await res.body!.getReader().read()
    abort.abort()
    // The only seat is free again: the next request completes.
    const next = await stream(`${mock.url}/v1/completions`, { prompt: 'next', max_tokens: 3, stream: true })
    expect(next.done).toBe(true)
    expect(mock.stats()).toMatchObject({ cancelled: 1, completed: 1, running: 0 })
  })
})

describe('scale', () => {
  it('completes 500 concurrent streams with every token', async () => {
    const mock = await start({ maxNumSeqs: 1024, itlMs: 1 })
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        stream(
          `${mock.url}/v1/chat/completions`,
          { messages: [{ role: 'user', content: `question ${i}` }], max_tokens: 20, stream: true, stream_options: { include_usage: true } },
          { 'x-session-id': `s${i}` },
        ),
      ),
    )
    for (const [i, r] of results.entries()) {
      expect(r.error).toBeUndefined()
      expect(r.done).toBe(true)
      expect(jsonChunks(r).filter((c) => c.choices[0]?.delta?.content)).toHaveLength(20)
      expect(usageOf(r)!.completion_tokens).toBe(20)
      expect(r.text.startsWith(mockEchoTag(`s${i}`, 1))).toBe(true)
    }
    expect(mock.stats()).toMatchObject({ completed: 500, generationTokens: 500 * 20, running: 0 })
  }, 60_000)
})

describe('close', () => {
  it('ends open streams and frees the port', async () => {
    const mock = await start({ itlMs: 5 })
    const res = await post(`${mock.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'go on' }], max_tokens: 30_000, stream: true })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    await reader.read()
    expect(mock.stats().running).toBe(1)
    await mock.close()
    // The open stream ends (with an error: its socket was destroyed) instead of hanging.
    await expect((async () => {
      for (;;) if ((await reader.read()).done) return 'ended'
    })()).rejects.toThrow()
    expect(mock.stats().running).toBe(0)
    // The port is free again.
    const probe = createServer()
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(mock.port, '127.0.0.1', resolve))
    await new Promise<void>((resolve) => probe.close(() => resolve()))
  })
})
