import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { loadDataset } from '../../src/data/index.ts'
import { convertLongBench, DownloadError, fetchAllRows } from '../../src/data/convert/index.ts'
import { InputError } from '../../src/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-hf-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let server: Server | undefined
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
  server = undefined
})

interface Replay {
  base: string
  /** Every request's query, in order. */
  requests: URLSearchParams[]
}

/**
 * Replays fixtures/hf/: `<config>-offset<O>-length<L>.json`, else 404 with not-found.json. `fail` answers
 * the first request for a given offset with that status (and Retry-After: 0) to exercise retries.
 */
async function replay(options: { fail?: { offset: string; status: number; times: number } } = {}): Promise<Replay> {
  const requests: URLSearchParams[] = []
  let failures = 0
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const q = url.searchParams
    requests.push(q)
    if (url.pathname !== '/rows' || q.get('dataset') !== 'THUDM/LongBench' || q.get('split') !== 'test') {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end('{"error":"bad request"}')
      return
    }
    if (options.fail && q.get('offset') === options.fail.offset && failures < options.fail.times) {
      failures++
      res.writeHead(options.fail.status, { 'content-type': 'application/json', 'retry-after': '0' })
      res.end('{"error":"The server is busy."}')
      return
    }
    const file = `fixtures/hf/${q.get('config')}-offset${q.get('offset')}-length${q.get('length')}.json`
    const found = existsSync(file)
    res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' })
    res.end(readFileSync(found ? file : 'fixtures/hf/not-found.json'))
  })
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

describe('the Hugging Face datasets-server download', () => {
  test('pages through /rows, retries a 503, refetches a row whose cells were truncated', async () => {
    const hf = await replay({ fail: { offset: '2', status: 503, times: 1 } })
    const retries: string[] = []
    const rows = await fetchAllRows({ baseUrl: hf.base, dataset: 'THUDM/LongBench', config: 'narrativeqa', pageSize: 2, retryDelayMs: 1, onRetry: (m) => retries.push(m) })
    expect(rows.map((r) => r['_id'])).toEqual(['fixture-nq-0', 'fixture-nq-1', 'fixture-nq-2'])
    // row 1 came truncated in its page and complete on its own
    expect(rows[1]?.['context']).toMatch(/which softened the echo and, they found, made the strings carry further\.$/)
    expect(hf.requests.map((q) => `${q.get('offset')}+${q.get('length')}`)).toEqual(['0+2', '1+1', '2+2', '2+2'])
    expect(retries).toHaveLength(1)
    expect(retries[0]).toMatch(/HTTP 503/)
  })

  test('a page that keeps failing gives up after its retries with a DownloadError', async () => {
    const hf = await replay({ fail: { offset: '0', status: 500, times: 10 } })
    const error = await fetchAllRows({ baseUrl: hf.base, dataset: 'THUDM/LongBench', config: 'narrativeqa', pageSize: 2, retries: 2, retryDelayMs: 1 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DownloadError)
    expect((error as Error).message).toMatch(/HTTP 500 .* after 3 attempts/)
  })

  test('an unknown config is a 404: an InputError that names it and lists the LongBench configs', async () => {
    const hf = await replay()
    const error = await convertLongBench({ dataset: 'no_such_config', output: join(dir, 'x.jsonl'), hf: { baseUrl: hf.base, retryDelayMs: 1 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InputError)
    expect((error as Error).message).toMatch(/THUDM\/LongBench has no config "no_such_config" with split "test" \(the datasets server answered 404: The config 'no_such_config' does not exist/)
    expect((error as Error).message).toMatch(/LongBench configs: narrativeqa, qasper/)
    expect(hf.requests).toHaveLength(1)
  })

  test('--dataset NAME converts the downloaded rows; the output loads', async () => {
    const hf = await replay()
    const output = join(dir, 'nq.jsonl')
    const report = await convertLongBench({ dataset: 'narrativeqa', output, numSamples: 2, seed: 1, hf: { baseUrl: hf.base, pageSize: 2, retryDelayMs: 1 } })
    expect(report).toMatchObject({ read: 3, distinct: 3, written: 2 })
    const loaded = await loadDataset(output)
    expect(loaded).toHaveLength(2)
    expect(loaded[0]?.sessionId).toMatch(/^narrativeqa-fixture-nq-\d$/)
    expect(loaded[0]?.userMessages[0]).toMatch(/\n\n(Why|What)/)
  })
})
