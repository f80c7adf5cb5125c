/**
 * A minimal OpenAI-style SSE server for measuring the client, with known timing ("truth").
 *
 *   node bench/streamServer.ts --mode fast  --tokens 64               # every chunk as fast as possible
 *   node bench/streamServer.ts --mode timed --tokens 64 --ttft 200 --itl 20
 *   ... --no-usage                                                    # no usage chunk: the client counts tokens
 *
 * Run as a child process (bench/run.ts forks it; `SERVER_CPU=1` pins it with taskset). It prints
 * `{"port": N}` on its first stdout line. A request may override tokens/ttft/itl with `x-bench-tokens`,
 * `x-bench-ttft`, `x-bench-itl`. With `x-bench-id`, the epoch time (ms, µs precision) of every content
 * write is kept, and `GET /truth/<id>` returns `{ arrived, writes, spans }`: the truth the client's
 * timestamps are checked against, and how long each write took (its uncertainty).
 *
 * HTTP/1.1 is spoken directly on node:net, like the C servers the reference figures come from:
 * node:http corks a chunked response until the next tick, so a stamp taken after `res.write()` would be
 * earlier than the bytes leave by up to a whole burst of writes. Here every chunk is one pre-built
 * buffer handed to `socket.write()`, which writes it to the kernel before returning; the stamp after it
 * is the moment the client could first read the chunk.
 */
import { createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'fast' },
    tokens: { type: 'string', default: '64' },
    ttft: { type: 'string', default: '200' },
    itl: { type: 'string', default: '20' },
    port: { type: 'string', default: '0' },
    // A server that reports no token usage (the client then counts tokens itself).
    'no-usage': { type: 'boolean', default: false },
  },
})

/** One HTTP/1.1 chunk holding one SSE event. */
const frame = (event: string): string => `${Buffer.byteLength(event).toString(16)}\r\n${event}\r\n`
const ROLE = frame('data: {"id":"b","object":"chat.completion.chunk","created":0,"model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n')
const CONTENT_EVENT = 'data: {"id":"b","object":"chat.completion.chunk","created":0,"model":"bench","choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}\n\n'
const CONTENT = Buffer.from(frame(CONTENT_EVENT))
const CONTENT_BATCH = Buffer.from(frame(CONTENT_EVENT.repeat(64)))
const finish = (n: number): string => values['no-usage']
  ? frame('data: {"id":"b","object":"chat.completion.chunk","created":0,"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}\n\ndata: [DONE]\n\n') + '0\r\n\r\n'
  : frame(`data: {"id":"b","object":"chat.completion.chunk","created":0,"model":"bench","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":${n},"total_tokens":${n + 8}}}\n\ndata: [DONE]\n\n`) + '0\r\n\r\n'
const SSE_HEAD = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n'
const json = (body: string): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body}`

/** Epoch ms with sub-ms precision, comparable across processes on one machine. */
const epoch = (): number => performance.timeOrigin + performance.now()
/** What a request's client is checked against: when it arrived, when each content chunk was written. */
interface Truth {
  arrived: number
  writes: number[]
  /** How long each write took, ms: the chunk left at some moment in it, so longer is less certain. */
  spans: number[]
}
const truths = new Map<string, Truth>()

interface Request {
  method: string
  path: string
  headers: Map<string, string>
  body: string
}

/** A truth id opening the prompt (`bench-id:<id>`, then a space or the end), for clients that cannot set a header per request. */
const PROMPT_ID = /"(bench-id:[^" \\]+)/

/**
 * Fast mode: all chunks, 64 per write and one write per event-loop turn so that streams interleave.
 * The head rides with the first batch and the end with the last, as node:http's corking did: every
 * extra packet costs the client a read.
 */
function fast(socket: Socket, tokens: number): void {
  let left = tokens
  let first = true
  const batch = (): void => {
    if (socket.destroyed) return
    const n = Math.min(64, left)
    left -= n
    const content = n === 64 ? CONTENT_BATCH : Buffer.from(frame(CONTENT_EVENT.repeat(n)))
    const parts = first ? [Buffer.from(SSE_HEAD + ROLE), content] : [content]
    if (left === 0) parts.push(Buffer.from(finish(tokens)))
    first = false
    socket.write(parts.length === 1 ? content : Buffer.concat(parts))
    if (left > 0) setImmediate(batch)
  }
  batch()
}

interface Stream {
  socket: Socket
  truth: Truth | undefined
  due: number
  left: number
  total: number
  itl: number
}

// Timed mode: a due-time queue served by a spinning loop (this process has a core of its own).
const queue: Stream[] = []
let spinning = false
function spin(): void {
  const now = performance.now()
  let kept = 0
  for (let i = 0; i < queue.length; i++) {
    const s = queue[i] as Stream
    if (s.socket.destroyed) continue
    if (s.due <= now) {
      const truth = s.truth
      const before = truth === undefined ? 0 : epoch()
      s.socket.write(CONTENT)
      if (truth !== undefined) {
        const after = epoch()
        truth.writes.push(after)
        truth.spans.push(after - before)
      }
      if (--s.left === 0) {
        s.socket.write(finish(s.total))
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

function timed(socket: Socket, tokens: number, ttft: number, itl: number, arrived: number, truth: Truth | undefined): void {
  socket.write(SSE_HEAD + ROLE)
  queue.push({ socket, due: arrived + ttft, left: tokens, total: tokens, itl, truth })
  if (!spinning) {
    spinning = true
    setImmediate(spin)
  }
}

function respond(socket: Socket, req: Request): void {
  if (req.method === 'GET' && req.path.startsWith('/truth/')) {
    const id = decodeURIComponent(req.path.slice('/truth/'.length))
    socket.write(json(JSON.stringify(truths.get(id) ?? null)))
    truths.delete(id)
    return
  }
  if (req.method === 'GET') {
    socket.write(json('{"object":"list","data":[{"id":"bench","object":"model"}]}'))
    return
  }
  const arrived = performance.now()
  let id = req.headers.get('x-bench-id') ?? PROMPT_ID.exec(req.body)?.[1]
  // The same id again (a workload's second round): `<id>#2`, `<id>#3`...
  for (let n = 2; id !== undefined && truths.has(id); n++) id = `${id.replace(/#\d+$/, '')}#${n}`
  const truth: Truth | undefined = id ? { arrived: epoch(), writes: [], spans: [] } : undefined
  if (id && truth) truths.set(id, truth)
  const tokens = Number(req.headers.get('x-bench-tokens') ?? values.tokens)
  if (values.mode === 'fast') fast(socket, tokens)
  else timed(socket, tokens, Number(req.headers.get('x-bench-ttft') ?? values.ttft), Number(req.headers.get('x-bench-itl') ?? values.itl), arrived, truth)
}

/** Reads keep-alive requests off one connection: head up to the blank line, then Content-Length bytes of body. */
function serve(socket: Socket): void {
  socket.setNoDelay(true)
  let pending = ''
  let head: Request | undefined
  let bodyLeft = 0
  socket.setEncoding('latin1')
  socket.on('data', (data: string) => {
    pending += data
    for (;;) {
      if (head === undefined) {
        const end = pending.indexOf('\r\n\r\n')
        if (end === -1) return
        const lines = pending.slice(0, end).split('\r\n')
        pending = pending.slice(end + 4)
        const [method = '', path = ''] = (lines[0] ?? '').split(' ')
        const headers = new Map<string, string>()
        for (let i = 1; i < lines.length; i++) {
          const line = lines[i] as string
          const colon = line.indexOf(':')
          if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
        }
        head = { method, path, headers, body: '' }
        bodyLeft = Number(headers.get('content-length') ?? 0)
      }
      // Bytes of a latin1 string are its characters, so the body length counts in characters.
      if (pending.length < bodyLeft) return
      const req = { ...head, body: pending.slice(0, bodyLeft) }
      pending = pending.slice(bodyLeft)
      head = undefined
      respond(socket, req)
    }
  })
  socket.on('error', () => socket.destroy())
}

const sockets = new Set<Socket>()
const server = createServer((socket) => {
  sockets.add(socket)
  socket.once('close', () => sockets.delete(socket))
  serve(socket)
})
// A backlog for a thousand streams connecting at once (Node's default, 511, drops handshakes).
server.listen({ port: Number(values.port), host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n')
})
process.on('SIGTERM', () => {
  for (const socket of sockets) socket.destroy()
  server.close(() => process.exit(0))
})
