/**
 * How many SSE chunks per second the mock serving engine emits, with the engine in its fastest
 * mode (no modelled latency: each decode step runs as soon as the previous one has been written).
 *
 *   npx node bench/mockThroughput.ts [--concurrency 64] [--max-tokens 1000] [--duration 5] [--tokens-per-chunk 1] [--in-process]
 *
 * (`npx node` runs the Node 24 the repo pins; a plain `node` >= 22.18 strips the types as well.)
 * The mock runs in a child process so that it and the client each get a core. To pin them:
 *
 *   MOCK_CPU=1 taskset -c 0 npx node bench/mockThroughput.ts
 *
 * runs the client on CPU 0 and the mock on CPU 1 (the child is started through `taskset -c $MOCK_CPU`).
 * The figure printed is the mock's own count of `data:` events written, divided by the wall time;
 * the client's count is printed beside it as a check.
 */

import { fork, spawn, type ChildProcess } from 'node:child_process'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { startMockServer } from '../src/mock/index.ts'
import type { MockServer, MockServerOptions } from '../src/mock/index.ts'

const FAST_MODE: MockServerOptions = {
  port: 0,
  prefillTokensPerS: 1e12,
  baseLatencyMs: 0,
  itlMs: 0,
  itlPerSeqMs: 0,
  jitter: 0,
  maxNumSeqs: 100_000,
  prefixCache: false,
  maxModelLen: 10_000_000,
}

interface Stats {
  chunks: number
  completed: number
}

type ToChild = { type: 'stats' } | { type: 'stop' }
type FromChild = { type: 'ready'; url: string } | { type: 'stats'; stats: Stats }

/** Child side: serve until told to stop, answer stats requests. */
async function child(tokensPerChunk: number): Promise<void> {
  const mock = await startMockServer({ ...FAST_MODE, tokensPerChunk })
  process.on('message', (message: ToChild) => {
    if (message.type === 'stats') {
      const { chunks, completed } = mock.stats()
      process.send!({ type: 'stats', stats: { chunks, completed } } satisfies FromChild)
    } else {
      void mock.close().then(() => process.exit(0))
    }
  })
  process.send!({ type: 'ready', url: mock.url } satisfies FromChild)
}

/** The mock, in a child process or in this one. */
interface Target {
  url: string
  stats(): Promise<Stats>
  stop(): Promise<void>
}

async function startChild(tokensPerChunk: number): Promise<Target> {
  const file = new URL(import.meta.url).pathname
  const args = [file, '--child', '--tokens-per-chunk', String(tokensPerChunk)]
  const cpu = process.env['MOCK_CPU']
  const proc: ChildProcess =
    cpu === undefined
      ? fork(file, args.slice(1), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      : spawn('taskset', ['-c', cpu, process.execPath, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const next = <T extends FromChild['type']>(type: T) =>
    new Promise<Extract<FromChild, { type: T }>>((resolve, reject) => {
      const onMessage = (message: FromChild) => {
        if (message.type !== type) return
        proc.off('message', onMessage)
        resolve(message as Extract<FromChild, { type: T }>)
      }
      proc.on('message', onMessage)
      proc.once('exit', (code) => reject(new Error(`mock child exited (${code})`)))
    })
  const { url } = await next('ready')
  return {
    url,
    async stats() {
      const reply = next('stats')
      proc.send({ type: 'stats' } satisfies ToChild)
      return (await reply).stats
    },
    async stop() {
      const exited = new Promise((resolve) => proc.once('exit', resolve))
      proc.send({ type: 'stop' } satisfies ToChild)
      await exited
    },
  }
}

async function startInProcess(tokensPerChunk: number): Promise<Target> {
  const mock: MockServer = await startMockServer({ ...FAST_MODE, tokensPerChunk })
  return { url: mock.url, stats: async () => mock.stats(), stop: () => mock.close() }
}

const DATA = Buffer.from('data: ')

function countData(buffer: Buffer): number {
  let n = 0
  let i = buffer.indexOf(DATA)
  while (i >= 0) {
    n++
    i = buffer.indexOf(DATA, i + DATA.length)
  }
  return n
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '64' },
      'max-tokens': { type: 'string', default: '1000' },
      duration: { type: 'string', default: '5' },
      'tokens-per-chunk': { type: 'string', default: '1' },
      'in-process': { type: 'boolean', default: false },
    },
  })
  const tokensPerChunk = Number(values['tokens-per-chunk'])
  if (values.child) return child(tokensPerChunk)

  const concurrency = Number(values.concurrency)
  const maxTokens = Number(values['max-tokens'])
  const durationMs = Number(values.duration) * 1000
  const target = values['in-process'] ? await startInProcess(tokensPerChunk) : await startChild(tokensPerChunk)
  const pool = new Pool(target.url, { connections: concurrency, pipelining: 1 })
  const body = JSON.stringify({
    model: 'mock-llm',
    messages: [{ role: 'user', content: 'Count to a thousand.' }],
    max_tokens: maxTokens,
    stream: true,
  })

  let clientChunks = 0
  let requests = 0
  let stopAt = Infinity
  const worker = async (w: number): Promise<void> => {
    while (performance.now() < stopAt) {
      const { statusCode, body: stream } = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-session-id': `w${w}` },
        body,
      })
      if (statusCode !== 200) throw new Error(`status ${statusCode}: ${await stream.text()}`)
      for await (const chunk of stream) clientChunks += countData(chunk as Buffer)
      requests++
    }
  }

  const before = await target.stats()
  const started = performance.now()
  stopAt = started + durationMs
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)))
  const elapsedS = (performance.now() - started) / 1000
  const after = await target.stats()
  await pool.close()
  await target.stop()

  const mockChunks = after.chunks - before.chunks
  const perS = (n: number) => Math.round(n / elapsedS).toLocaleString('en-US')
  console.log(
    `mock throughput: ${perS(mockChunks)} chunks/s (client counted ${perS(clientChunks)}/s) — ` +
      `${concurrency} streams × ${maxTokens} tokens, ${tokensPerChunk} token(s)/chunk, ${requests} requests in ${elapsedS.toFixed(1)} s, ` +
      `mock ${values['in-process'] ? 'in process' : 'in a child process'}${process.env['MOCK_CPU'] ? ` on CPU ${process.env['MOCK_CPU']}` : ''}`,
  )
}

await main()
