/**
 * A minimal OpenAI-style SSE server for measuring the client, with known timing ("truth").
 *
 *   node bench/streamServer.ts --mode fast  --tokens 64               # every chunk as fast as possible
 *   node bench/streamServer.ts --mode timed --tokens 64 --ttft 200 --itl 20
 *
 * Run as a child process (bench/run.ts forks it; `SERVER_CPU=1` pins it with taskset). It prints
 * `{"port": N}` on its first stdout line. Chunks are pre-built strings; the timed mode schedules every
 * write against absolute times on a spinning setImmediate loop, so the server adds well under 0.1 ms.
 * A request may override tokens/ttft/itl with `x-bench-tokens`, `x-bench-ttft`, `x-bench-itl`.
 * With `x-bench-id`, the epoch time (ms, µs precision) of every content write is kept, and
 * `GET /truth/<id>` returns `{ arrived, writes }`: the truth the client's timestamps are checked against.
 */
import { createServer } from 'node:http'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'fast' },
    tokens: { type: 'string', default: '64' },
    ttft: { type: 'string', default: '200' },
    itl: { type: 'string', default: '20' },
    port: { type: 'string', default: '0' },
  },
})

const ROLE = 'data: {"id":"b","object":"chat.completion.chunk","created":0,"model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
const CONTENT = 'data: {"id":"b","object":"chat.completion.chunk","created":0,"model":"bench","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}\n\n'
const usage = (n: number): string => `data: {"id":"b","object":"chat.completion.chunk","created":0,"model":"bench","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":${n},"total_tokens":${n + 8}}}\n\n`
const DONE = 'data: [DONE]\n\n'
const HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }

/** Epoch ms with sub-ms precision, comparable across processes on one machine. */
const epoch = (): number => performance.timeOrigin + performance.now()
const truths = new Map<string, { arrived: number; writes: number[] }>()

interface Stream {
  truth: number[] | undefined
  res: ServerResponse
  due: number
  left: number
  total: number
  itl: number
}

/** Fast mode: write all chunks, a batch per event-loop turn so that streams interleave. */
function fast(res: ServerResponse, tokens: number): void {
  res.writeHead(200, HEADERS)
  res.write(ROLE)
  let left = tokens
  const batch = (): void => {
    const n = Math.min(64, left)
    res.write(CONTENT.repeat(n))
    left -= n
    if (left > 0) setImmediate(batch)
    else res.end(usage(tokens) + DONE)
  }
  batch()
}

// Timed mode: a due-time queue served by a spinning loop (this process has a core of its own).
const queue: Stream[] = []
let spinning = false
function spin(): void {
  const now = performance.now()
  let kept = 0
  for (let i = 0; i < queue.length; i++) {
    const s = queue[i] as Stream
    if (s.due <= now) {
      s.res.write(CONTENT)
      s.truth?.push(epoch())
      s.left--
      if (s.left === 0) {
        s.res.end(usage(s.total) + DONE)
        continue
      }
      s.due += s.itl
    }
    queue[kept++] = s
  }
  queue.length = kept
  if (queue.length > 0) setImmediate(spin)
  else spinning = false
}

function timed(res: ServerResponse, tokens: number, ttft: number, itl: number, arrived: number, truth: number[] | undefined): void {
  res.writeHead(200, HEADERS)
  res.write(ROLE)
  queue.push({ res, due: arrived + ttft, left: tokens, total: tokens, itl, truth })
  if (!spinning) {
    spinning = true
    setImmediate(spin)
  }
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/truth/')) {
    const id = decodeURIComponent(req.url.slice('/truth/'.length))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(truths.get(id) ?? null))
    truths.delete(id)
    return
  }
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"object":"list","data":[{"id":"bench","object":"model"}]}')
    return
  }
  req.resume()
  req.on('end', () => {
    const arrived = performance.now()
    const id = req.headers['x-bench-id'] as string | undefined
    const truth = id ? { arrived: epoch(), writes: [] as number[] } : undefined
    if (id && truth) truths.set(id, truth)
    const tokens = Number(req.headers['x-bench-tokens'] ?? values.tokens)
    if (values.mode === 'fast') fast(res, tokens)
    else timed(res, tokens, Number(req.headers['x-bench-ttft'] ?? values.ttft), Number(req.headers['x-bench-itl'] ?? values.itl), arrived, truth?.writes)
  })
})
server.keepAliveTimeout = 120_000
server.listen(Number(values.port), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n')
})
process.on('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
