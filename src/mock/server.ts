/**
 * The mock as a real HTTP server (node:http), for anything that measures time.
 */

import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { Socket } from 'node:net'
import { MockApp, type MockStats } from './app.ts'
import { type MockServerOptions, resolveMockOptions } from './options.ts'
import type { MockCall, MockReply } from './types.ts'

/** A running mock server. */
export interface MockServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:43123`; endpoints are under `/v1`. */
  readonly url: string
  readonly host: string
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number
  /** The served model id. */
  readonly model: string
  /** Counters since start: requests, prompt and cached tokens, running, waiting, ... */
  stats(): MockStats
  /** Empties the prefix cache (as `POST /reset` does). */
  resetCache(): void
  /** Ends open streams (their sockets are destroyed), stops the engine and frees the port. */
  close(): Promise<void>
}

/** Largest request body accepted (a 413 beyond). */
const MAX_BODY_BYTES = 64 * 1024 * 1024

/**
 * Starts the mock serving engine on `host:port` (default 127.0.0.1, a free port).
 * Invalid options throw `InputError` naming the option.
 */
export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const resolved = resolveMockOptions(options)
  const app = new MockApp(resolved)
  const sockets = new Set<Socket>()
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => handle(app, req, res))
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // A backlog for a thousand clients connecting at once, as uvicorn's 2,048 (Node's default, 511, drops handshakes).
    server.listen({ port: resolved.port, host: resolved.host, backlog: 4096 }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : resolved.port
  const urlHost = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host
  let closing: Promise<void> | undefined

  return {
    url: `http://${urlHost}:${port}`,
    host: resolved.host,
    port,
    model: resolved.model,
    stats: () => app.stats(),
    resetCache: () => app.resetCache(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        app.close()
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      return closing
    },
  }
}

function handle(app: MockApp, req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const aborted = new AbortController()
  // 'close' before the response finished: the client went away.
  res.once('close', () => {
    if (!res.writableFinished) aborted.abort()
  })
  const call: MockCall = {
    method: req.method ?? 'GET',
    path: q < 0 ? url : url.slice(0, q),
    header(name) {
      const value = req.headers[name]
      return Array.isArray(value) ? value.join(', ') : value
    },
    body: () => readBody(req),
  }
  app.handle(call, aborted.signal).then(
    (reply) => send(reply, req, res, aborted.signal),
    (error: unknown) => {
      const tooLarge = error instanceof BodyTooLargeError
      const status = tooLarge ? 413 : 500
      if (res.headersSent || res.destroyed) return void res.destroy()
      res.writeHead(status, { 'content-type': 'application/json', connection: tooLarge ? 'close' : 'keep-alive' })
      res.end(JSON.stringify({ error: { message: String((error as Error).message ?? error), type: tooLarge ? 'RequestTooLargeError' : 'InternalServerError', param: null, code: status } }))
    },
  )
}

function send(reply: MockReply, req: IncomingMessage, res: ServerResponse, aborted: AbortSignal): void {
  if (aborted.aborted || res.destroyed) return
  switch (reply.kind) {
    case 'drop':
      req.socket.destroy()
      return
    case 'body':
      res.writeHead(reply.status, reply.headers)
      res.end(reply.body)
      return
    case 'stream': {
      res.writeHead(200, reply.headers)
      res.flushHeaders()
      const cancel = reply.start({
        write: (data) => void res.write(data),
        end: () => void res.end(),
        // After the pending write is handed to the socket (res.write corks until the next tick),
        // so the client gets the tokens before the connection drops.
        destroy: () => process.nextTick(() => req.socket.destroy()),
      })
      if (res.destroyed) cancel()
      else aborted.addEventListener('abort', cancel, { once: true })
      return
    }
  }
}

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data')
        req.resume()
        reject(new BodyTooLargeError(`Request body larger than ${MAX_BODY_BYTES} bytes`))
        return
      }
      chunks.push(chunk)
    })
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.once('error', reject)
  })
}
