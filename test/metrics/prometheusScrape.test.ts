import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { PrometheusSampler, scrape } from '../../src/metrics/prometheusScrape.ts'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => {
    s.close(() => r())
    s.closeAllConnections()
  })))
})

/** A local server whose answer the test decides per request. */
async function serve(handler: (n: number) => { status: number; type?: string; body: string; delayMs?: number }): Promise<string> {
  let n = 0
  const server = createServer((req, res) => {
    const answer = handler(n++)
    const send = (): void => {
      res.writeHead(answer.status, { 'content-type': answer.type ?? 'text/plain; version=0.0.4' })
      res.end(answer.body)
    }
    if (answer.delayMs) setTimeout(send, answer.delayMs)
    else send()
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
}

/** A free port with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

const counter = (name: string, value: number): string => `# TYPE ${name} counter\n${name} ${value}\n`

describe('scrape', () => {
  test('reads an exposition', async () => {
    const url = await serve(() => ({ status: 200, body: counter('requests_total', 5) }))
    const r = await scrape(url)
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.exposition.series[0]).toMatchObject({ name: 'requests_total', type: 'counter', value: 5 })
  })

  test.each([
    ['a non-200 answer', { status: 503, body: 'overloaded' }, 'status', /HTTP 503 \(overloaded\)/],
    ['an HTML page', { status: 200, type: 'text/html', body: '<html></html>' }, 'format', /text\/html, not the Prometheus text format/],
    ["Prometheus' query API", { status: 200, type: 'application/json', body: '{"status":"success"}' }, 'format', /query API/],
    ['text that is not the format', { status: 200, body: 'hello world' }, 'format', /did not answer the Prometheus text format/],
  ])('%s is a failure with a reason, never a throw', async (_, answer, kind, message) => {
    const url = await serve(() => answer)
    const r = await scrape(url)
    expect(r).toMatchObject({ ok: false, kind })
    if (!r.ok) expect(r.error).toMatch(message)
  })

  test('connection refused and time-outs are failures', async () => {
    const refused = await scrape(`http://127.0.0.1:${await closedPort()}/metrics`)
    expect(refused).toMatchObject({ ok: false, kind: 'connection' })
    if (!refused.ok) expect(refused.error).toMatch(/connection refused/)
    const slow = await serve(() => ({ status: 200, body: counter('x_total', 1), delayMs: 2000 }))
    const timedOut = await scrape(slow, 100)
    expect(timedOut).toMatchObject({ ok: false, kind: 'timeout' })
  })
})

describe('PrometheusSampler', () => {
  test('round mode: scrapes before, during and after the round; failed scrapes are counted, not thrown', async () => {
    let value = 0
    let requests = 0
    const url = await serve((n) => {
      requests = n + 1
      return n === 1 ? { status: 500, body: 'oops' } : { status: 200, body: counter('work_total', (value += 10)) }
    })
    const notices: string[] = []
    const sampler = new PrometheusSampler({ url, metrics: ['work_total'], intervalS: 0.1 }, (m) => notices.push(m))
    await sampler.beforeRound()
    while (requests < 4) await new Promise((r) => setTimeout(r, 20)) // interval scrapes happen without any request
    const summary = await sampler.afterRound()
    expect(summary.failedScrapes).toBe(1)
    expect(summary.firstScrapeError).toMatch(/HTTP 500/)
    expect(summary.scrapes).toBeGreaterThanOrEqual(3)
    expect(summary.counters['work_total']?.delta).toBe(value - 10)
    expect(summary.counters['work_total']?.ratePerS).toBeGreaterThan(0)
    expect(summary.perRequest).toBeUndefined()
    expect(notices).toHaveLength(1)
  })

  test('request mode: a delta per request', async () => {
    let value = 0
    const url = await serve(() => ({ status: 200, body: counter('work_total', (value += 5)) }))
    const sampler = new PrometheusSampler({ url, metrics: ['work_total'], mode: 'request' })
    await sampler.beforeRound()
    for (let i = 0; i < 3; i++) {
      const before = await sampler.beforeRequest()
      await sampler.afterRequest(before)
    }
    const summary = await sampler.afterRound()
    expect(summary.perRequest?.['work_total']).toMatchObject({ count: 3, avg: 5 })
    expect(summary.scrapes).toBe(8)
  })

  test('an endpoint that never answers: every scrape failed, the round still gets a summary', async () => {
    const sampler = new PrometheusSampler({ url: `http://127.0.0.1:${await closedPort()}/metrics`, intervalS: 60 })
    await sampler.beforeRound()
    const summary = await sampler.afterRound()
    expect(summary).toMatchObject({ failedScrapes: 2, scrapes: 0, counters: {}, gauges: {} })
    expect(summary.firstScrapeError).toMatch(/connection refused/)
  })
})

describe('an endpoint with none of the known engines\' metrics', () => {
  test('the sampler says so once and lists what the endpoint has', async () => {
    const url = await serve(() => ({ status: 200, body: '# TYPE app_requests_total counter\napp_requests_total 3\n# TYPE app_queue gauge\napp_queue 1\n' }))
    const notices: string[] = []
    const sampler = new PrometheusSampler({ url, intervalS: 60 }, (m) => notices.push(m))
    await sampler.beforeRound()
    await sampler.afterRound()
    expect(notices).toHaveLength(1)
    expect(notices[0]).toMatch(/none of the default metrics \(vLLM, SGLang, llama\.cpp, TGI\)/)
    expect(notices[0]).toContain('app_queue, app_requests_total')
  })

  test('llama.cpp\'s names are among the defaults: no notice, and they are reported', async () => {
    const url = await serve(() => ({ status: 200, body: '# TYPE llamacpp:prompt_tokens_total counter\nllamacpp:prompt_tokens_total 10\n# TYPE llamacpp:requests_processing gauge\nllamacpp:requests_processing 1\n' }))
    const notices: string[] = []
    const sampler = new PrometheusSampler({ url, intervalS: 60 }, (m) => notices.push(m))
    await sampler.beforeRound()
    const summary = await sampler.afterRound()
    expect(notices).toEqual([])
    expect(Object.keys(summary.counters)).toContain('llamacpp:prompt_tokens_total')
  })

  test('chosen metrics never trigger the notice', async () => {
    const url = await serve(() => ({ status: 200, body: '# TYPE app_requests_total counter\napp_requests_total 3\n' }))
    const notices: string[] = []
    const sampler = new PrometheusSampler({ url, metrics: ['app_requests_total'], intervalS: 60 }, (m) => notices.push(m))
    await sampler.beforeRound()
    await sampler.afterRound()
    expect(notices).toEqual([])
  })
})
