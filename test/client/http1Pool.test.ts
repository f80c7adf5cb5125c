import { createServer, Socket } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import type { Dispatcher } from 'undici'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { classifyError } from '../../src/client/errors.ts'
import { Http1Pool } from '../../src/client/http1Pool.ts'
import { onRequests } from '../helpers/rawRequests.ts'

interface RawServer {
  origin: string
  /** Connections accepted so far, and the most open at once. */
  accepted: number
  peakOpen: number
  /** Every request head received, in order. */
  heads: string[]
  server: Server
  /** The server's side of every open connection. */
  sockets: Set<Socket>
  /** Destroys every open connection. */
  dropAll(): void
}

const servers: RawServer[] = []
const pools: Http1Pool[] = []
afterEach(async () => {
  for (const pool of pools.splice(0)) await Promise.race([pool.close(), new Promise((r) => setTimeout(r, 1000))])
  for (const server of servers.splice(0)) {
    server.dropAll()
    await new Promise((resolve) => server.server.close(resolve))
  }
})

/** A server on 127.0.0.1:0 that hands each complete request (head and Content-Length body) to `answer`. */
async function rawServer(answer: (socket: Socket, head: string, body: string) => void): Promise<RawServer> {
  const sockets = new Set<Socket>()
  const state: RawServer = {
    origin: '',
    accepted: 0,
    peakOpen: 0,
    heads: [],
    server: createServer(),
    sockets,
    dropAll: () => {
      for (const s of sockets) s.destroy()
    },
  }
  state.server.on('connection', (socket) => {
    sockets.add(socket)
    state.accepted++
    state.peakOpen = Math.max(state.peakOpen, sockets.size)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    onRequests(socket, (head, body) => {
      state.heads.push(head)
      answer(socket, head, body)
    })
  })
  servers.push(state)
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve))
  state.origin = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`
  return state
}

function pool(origin: string, connections = 4): Http1Pool {
  const p = new Http1Pool(origin, { connections, keepAliveTimeoutMs: 10_000, connectTimeoutMs: 5_000 })
  pools.push(p)
  return p
}

interface Outcome {
  status: number | null
  headers: Record<string, string | string[] | undefined>
  body: string
  error: Error | null
}

/** Sends one request and collects what the handler saw. */
function request(p: Http1Pool, options: Partial<Dispatcher.DispatchOptions> = {}, onStart?: (c: Dispatcher.DispatchController) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: null, headers: {}, body: '', error: null }
    p.dispatch({ path: '/v1/chat/completions', method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' }, ...options }, {
      onRequestStart: (c) => onStart?.(c),
      onResponseStart: (_c, status, headers) => {
        out.status = status
        out.headers = headers
      },
      onResponseData: (_c, chunk) => {
        out.body += chunk.toString('utf8')
      },
      onResponseEnd: () => resolve(out),
      onResponseError: (_c, error) => {
        out.error = error
        resolve(out)
      },
    })
  })
}

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`

describe('Http1Pool', () => {
  test('sends method, path, host, headers and body, and reuses one keep-alive connection', async () => {
    const server = await rawServer((socket, _head, body) => socket.write(ok(`echo ${body}`)))
    const p = pool(server.origin)
    const first = await request(p)
    const second = await request(p)
    expect(first).toMatchObject({ status: 200, body: 'echo {"x":1}', error: null })
    expect(second.body).toBe('echo {"x":1}')
    expect(server.accepted).toBe(1)
    expect(server.heads[0]).toMatch(/^POST \/v1\/chat\/completions HTTP\/1\.1\r\n/)
    expect(server.heads[0]).toContain(`host: ${new URL(server.origin).host}`)
    expect(server.heads[0]).toContain('content-type: application/json')
    expect(server.heads[0]).toContain('content-length: 7')
  })

  test('never opens more than `connections` sockets; the others wait their turn', async () => {
    const waiting: Socket[] = []
    const server = await rawServer((socket) => {
      waiting.push(socket)
      // Answer once three requests have arrived or, with two connections, after a pause.
      setTimeout(() => {
        for (const s of waiting.splice(0)) s.write(ok('done'))
      }, 30)
    })
    const p = pool(server.origin, 2)
    const outcomes = await Promise.all([request(p), request(p), request(p), request(p), request(p)])
    expect(outcomes.map((o) => o.body)).toEqual(['done', 'done', 'done', 'done', 'done'])
    expect(server.peakOpen).toBe(2)
    expect(server.accepted).toBe(2)
  })

  test('a long queue of requests given up while they waited is drained in a loop: no stack overflow, the connection stays usable', async () => {
    const waiting: Socket[] = []
    const server = await rawServer((socket) => waiting.push(socket))
    const p = pool(server.origin, 1)
    const first = request(p)
    await vi.waitFor(() => expect(waiting).toHaveLength(1))
    // 50,000 requests queue behind it, each given up (timed out, interrupted) before its turn.
    let givenUp = 0
    const abandoned = Array.from({ length: 50_000 }, () => request(p, {}, (c) => {
      givenUp++
      c.abort(new Error('given up while waiting'))
    }))
    ;(waiting[0] as Socket).write(ok('first'))
    expect((await first).body).toBe('first')
    const outcomes = await Promise.all(abandoned)
    expect(givenUp).toBe(50_000)
    expect(outcomes.every((o) => o.error?.message === 'given up while waiting')).toBe(true)
    // The one connection was never touched by them: the next request goes out on it.
    const last = request(p)
    await vi.waitFor(() => expect(waiting).toHaveLength(2))
    ;(waiting[1] as Socket).write(ok('last'))
    expect((await last).body).toBe('last')
    expect(server.accepted).toBe(1)
  })

  test('preconnect opens idle connections up to the pool size, and requests then use them without connecting', async () => {
    const server = await rawServer((socket) => socket.write(ok('done')))
    const p = pool(server.origin, 3)
    expect(await p.preconnect(5)).toBe(3)
    // The server's accept events run on this same event loop, after the client's connects.
    await vi.waitFor(() => expect(server.accepted).toBe(3))
    // Asking again opens nothing more.
    expect(await p.preconnect(3)).toBe(3)
    const outcomes = await Promise.all([request(p), request(p), request(p)])
    expect(outcomes.map((o) => o.body)).toEqual(['done', 'done', 'done'])
    expect(server.accepted).toBe(3)
  })

  // 300 is more than one wave (128 at a time): every wave's attempts must fail before the next is opened.
  test.each([2, 300])('preconnect of %i connections to a closed port resolves with 0 open, and requests still fail with a clear error', async (n) => {
    const server = await rawServer(() => undefined)
    const origin = server.origin
    await new Promise((resolve) => server.server.close(resolve))
    const p = pool(origin, n)
    expect(await p.preconnect(n)).toBe(0)
    const outcome = await request(p)
    expect(outcome.error && classifyError(outcome.error, origin).kind).toBe('connection_refused')
  })

  test('preconnect past one wave (128 at a time) waits for each wave and opens every connection', async () => {
    const server = await rawServer((socket) => socket.write(ok('done')))
    const p = pool(server.origin, 300)
    expect(await p.preconnect(300)).toBe(300)
    await vi.waitFor(() => expect(server.accepted).toBe(300))
    expect(server.peakOpen).toBe(300)
  })

  test('streams a chunked body as it arrives, one callback per packet', async () => {
    // The server sends each packet only once the client has handed on the previous one, so no two share a read.
    let next: (() => void) | undefined
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n')
      let n = 0
      next = () => {
        socket.write(n < 3 ? `9\r\ndata: ${n}\n\n\r\n` : '0\r\n\r\n')
        n++
      }
      next()
    })
    const p = pool(server.origin)
    const pieces: string[] = []
    await new Promise<void>((resolve, reject) => {
      p.dispatch({ path: '/', method: 'GET' }, {
        onResponseStart: () => next?.(),
        onResponseData: (_c, chunk) => {
          pieces.push(chunk.toString())
          next?.()
        },
        onResponseEnd: () => resolve(),
        onResponseError: (_c, e) => reject(e),
      })
    })
    expect(pieces).toEqual(['data: 0\n\n', 'data: 1\n\n', 'data: 2\n\n'])
  })

  test('reset sends Connection: close and does not reuse the socket', async () => {
    const server = await rawServer((socket) => socket.write(ok('x')))
    const p = pool(server.origin)
    await request(p, { reset: true })
    await request(p, { reset: true })
    expect(server.heads[0]).toContain('connection: close')
    expect(server.accepted).toBe(2)
  })

  test('a server that closes mid-body is server_disconnected; a closed port is connection_refused', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial')
      setTimeout(() => socket.destroy(), 5)
    })
    const cut = await request(pool(server.origin))
    expect(cut.body).toBe('partial')
    expect(classifyError(cut.error, server.origin).kind).toBe('server_disconnected')

    const closed = await rawServer(() => undefined)
    const origin = closed.origin
    await new Promise((resolve) => closed.server.close(resolve))
    servers.splice(servers.indexOf(closed), 1)
    const refused = await request(pool(origin))
    expect(classifyError(refused.error, origin)).toMatchObject({ kind: 'connection_refused' })
  })

  test('a connection the server closed while idle is replaced, not used', async () => {
    let closed: Promise<void> | undefined
    const server = await rawServer((socket) => {
      closed ??= new Promise((resolve) => socket.once('close', () => resolve()))
      socket.write(ok('x'))
      socket.end()
    })
    const p = pool(server.origin)
    await request(p)
    // The server's socket closes once the client has read its end and ended too.
    await closed
    const again = await request(p)
    expect(again).toMatchObject({ status: 200, body: 'x', error: null })
    expect(server.accepted).toBe(2)
  })

  test('abort: a request given up before it is sent never reaches the server; a running one ends with the reason', async () => {
    const server = await rawServer((socket) => socket.write(ok('x')))
    const p = pool(server.origin, 1)
    const never = await request(p, {}, (c) => c.abort(new Error('not now')))
    expect(never.error?.message).toBe('not now')
    expect(server.heads).toEqual([])
    // The connection was not spoiled: the next request uses it.
    expect((await request(p)).body).toBe('x')
    expect(server.accepted).toBe(1)

    const silent = await rawServer(() => undefined)
    let running: Dispatcher.DispatchController | undefined
    const pending = request(pool(silent.origin), {}, (c) => {
      running = c
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    running?.abort(new Error('stop'))
    expect((await pending).error?.message).toBe('stop')
    expect(silent.heads.length).toBe(1)
  })

  test('close() lets running requests finish; later dispatches fail', async () => {
    const server = await rawServer((socket) => setTimeout(() => socket.write(ok('late')), 20))
    const p = pool(server.origin)
    const running = request(p)
    await new Promise((resolve) => setTimeout(resolve, 5))
    const closing = p.close()
    expect((await running).body).toBe('late')
    await closing
    expect((await request(p)).error?.message).toMatch(/pool is closed/)
  })

  test('close() of many idle connections destroys each socket once, not once per close event', async () => {
    const server = await rawServer((socket) => socket.write(ok('done')))
    const p = pool(server.origin, 200)
    expect(await p.preconnect(200)).toBe(200)
    const destroy = vi.spyOn(Socket.prototype, 'destroy')
    try {
      await p.close()
      // The client's sockets only: the server's own may destroy themselves once they read the FIN.
      expect(destroy.mock.contexts.filter((socket) => !server.sockets.has(socket as Socket)).length).toBe(200)
    } finally {
      destroy.mockRestore()
    }
  })

  test('a header value with a line break is refused before anything is sent', async () => {
    const server = await rawServer((socket) => socket.write(ok('x')))
    const out = await request(pool(server.origin), { headers: { 'x-evil': 'a\r\nx-injected: 1' } })
    expect(out.error?.message).toMatch(/invalid value for header "x-evil"/)
    expect(server.heads).toEqual([])
  })

  test('garbage instead of HTTP is an error naming it', async () => {
    const server = await rawServer((socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n\r\n'))
    const out = await request(pool(server.origin))
    expect(out.error?.message).toMatch(/invalid HTTP response: invalid status line "SSH-2.0-OpenSSH_9.6"/)
  })
})
