import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Dispatcher } from 'undici'
import { RequestFailure } from './errors.ts'
import { ResponseFormatError, ResponseReader } from './http1Response.ts'

/**
 * A keep-alive pool of plain-HTTP/1.1 connections to one origin, for the streaming hot path.
 *
 * It offers the part of undici's `Dispatcher` the client uses (`dispatch` with the same handler
 * callbacks, and `close`), so the request code is the same over it and over undici's Pool (kept for
 * https:// and proxies). Why not undici here: its read path allocates per packet, and at 1,000 streams
 * the collections that follow land on the chunks arriving meanwhile as ITL error. Here every socket
 * reads into one shared buffer (`onread`) and the response is framed in place (http1Response.ts).
 *
 * Semantics, as undici's: at most `connections` sockets, one request per connection at a time (no
 * pipelining), requests wait in order for a free connection, idle connections close after
 * `keepAliveTimeoutMs` or sooner (the server's `Keep-Alive: timeout=`, or what it was seen to do).
 *
 * Why, and the reuse rules: docs/design/http-client.md#why-not-undici-on-the-hot-path and
 * docs/design/http-client.md#connections-pooling-and-reuse
 */
export interface Http1PoolOptions {
  /** Most sockets open at once. */
  connections: number
  /** How long an idle connection is kept open, ms. */
  keepAliveTimeoutMs: number
  /** Longest wait for a connection to be set up, ms. */
  connectTimeoutMs: number
}

/** The part of undici's Dispatcher the client uses: undici's Pool and Http1Pool both provide it. */
export interface RequestDispatcher {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean
  close(): Promise<void>
}

/**
 * A dispatch handler that may take body bytes in place: `buf[start, end)`, valid only during the call.
 * Http1Pool prefers it to onResponseData (which needs a Buffer view made for every read).
 */
export interface BytesHandler extends Dispatcher.DispatchHandler {
  onResponseBytes(controller: Dispatcher.DispatchController, buf: Buffer, start: number, end: number): void
}

/** Most bytes one socket read takes. */
const READ_SIZE = 64 * 1024

/**
 * The one read area of every connection: a read is handled to the end (the handler copies what it
 * keeps) before libuv reads the next socket, so they never overlap. The two bytes after a read's are
 * set to CR LF, so a native search for a line end (Buffer#indexOf) stops there instead of running on
 * through stale bytes: that bound used to come from a view per read, an allocation per chunk.
 */
const readArea = Buffer.allocUnsafe(READ_SIZE + 2)
const CR = 0x0d
const LF = 0x0a
const readBuffer = readArea.subarray(0, READ_SIZE)

/** Connections preconnect sets up at once. */
const PRECONNECT_WAVE = 128
/**
 * The server's keep-alive hint, and the idle time after which it was seen to close a connection, are
 * shortened by this much, so we never send on a socket it is closing (undici's `keepAliveTimeoutThreshold`
 * plays this part there). A hint at or under it means no reuse.
 */
export const KEEP_ALIVE_MARGIN_MS = 1000

/** What a pool saw of the server's connection handling, for the run's results. */
export interface ConnectionStats {
  /** Connections opened. */
  opened: number
  /** Requests sent on a connection that had carried an earlier one. */
  reused: number
  /** Idle connections the server closed (a close after a response, or an idle timeout shorter than ours). */
  closedByServerWhileIdle: number
  /**
   * The longest idle time a connection is still reused for, learned from the server's closes (ms); 0 once
   * it closed a connection right after a response (llama.cpp's server does, advertising keep-alive), so
   * that every request then gets a fresh connection. Absent while the server has closed none.
   */
  learnedIdleLimitMs?: number
}

export class Http1Pool implements RequestDispatcher {
  private readonly host: string
  private readonly port: number
  private readonly hostHeader: string
  private readonly options: Http1PoolOptions
  private readonly queue: PooledRequest[] = []
  private idle: Connection[] = []
  private readonly open = new Set<Connection>()
  private closing: Promise<void> | null = null
  private whenDrained: (() => void) | null = null
  /** See ConnectionStats.learnedIdleLimitMs. */
  private idleLimitMs = Infinity
  /** Connections whose response just ended, back in the pool after the ready I/O (see settleSoon): a count and a flag on each, not a Set (see abortFanOut.ts). */
  private settlingCount = 0
  readonly stats: ConnectionStats = { opened: 0, reused: 0, closedByServerWhileIdle: 0 }

  constructor(origin: string | URL, options: Http1PoolOptions) {
    const url = new URL(origin)
    if (url.protocol !== 'http:') throw new TypeError(`Http1Pool speaks plain http://, not ${url.protocol}`)
    this.host = url.hostname.replace(/^\[|\]$/g, '')
    this.port = Number(url.port || 80)
    this.hostHeader = url.host
    this.options = { ...options, connections: Math.max(1, options.connections) }
  }

  /** Starts a request; its outcome reaches `handler`. Returns true (there is no back-pressure signal). */
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const exchange = new PooledRequest(this, options, handler)
    if (this.closing) {
      exchange.fail(new RequestFailure('other', 'the connection pool is closed'))
      return true
    }
    try {
      exchange.request = serializeRequest(options, this.hostHeader)
    } catch (error) {
      exchange.fail(error as Error)
      return true
    }
    this.queue.push(exchange)
    this.drain()
    return true
  }

  /**
   * Opens idle connections until `count` are open (never more than `connections`), so the first
   * requests of a run do not wait for TCP set-up while other streams are already timed. Resolves with
   * the number of connections open once every attempt has connected or failed; never rejects (a
   * server that refuses is reported by the requests that need it).
   */
  async preconnect(count: number): Promise<number> {
    const wanted = Math.min(count, this.options.connections) - this.open.size
    // Attempts not yet connected or failed, and the loop's wake-up when one is. A count rather than
    // Promise.race over the wave: racing the wave's 128 promises for each new connection left about 15 KB of
    // reactions per connection, 15 MB at 1,000 streams just before the clock, where heap growth of 32 MB makes
    // precision mode collect (heap.ts).
    let connecting = 0
    let wake: (() => void) | null = null
    const oneSettled = (): void => {
      connecting--
      const resume = wake
      wake = null
      resume?.()
    }
    const someSettle = (): Promise<void> => new Promise<void>((resolve) => {
      wake = resolve
    })
    for (let i = 0; i < wanted && this.closing === null; i++) {
      const connection = new Connection(this, null)
      this.open.add(connection)
      connecting++
      let settled = false
      const settle = (): void => {
        if (settled) return
        settled = true
        oneSettled()
      }
      connection.socket.once('connect', settle)
      connection.socket.once('close', settle)
      // A wave at a time: a thousand SYNs at once overflow a listen backlog (Node's default is 511), and
      // a dropped handshake is retried a second later, with the connection half-open on the server.
      while (connecting >= PRECONNECT_WAVE) await someSettle()
    }
    while (connecting > 0) await someSettle()
    return this.open.size
  }

  /** Lets queued and running requests finish, then closes every connection. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.closing = new Promise<void>((resolve) => {
        this.whenDrained = resolve
      })
      this.drain()
    }
    return this.closing
  }

  /**
   * Hands waiting requests to idle connections, opening new ones up to the limit. A request re-sent
   * after its reused connection died (`fresh`) never takes an idle one: it may be just as stale.
   */
  drain(): void {
    while (this.queue.length > 0) {
      const exchange = this.queue[0] as PooledRequest
      if (!exchange.fresh && this.idle.length > 0) {
        this.queue.shift()
        const connection = this.idle.pop() as Connection
        // Given up while it waited (timed out, interrupted): the connection stays idle, untouched.
        if (!connection.start(exchange)) this.idle.push(connection)
        continue
      }
      // A connection about to be back (see settleSoon) serves it, rather than a new one.
      if (!exchange.fresh && this.settlingCount > 0) break
      // At the limit, a fresh request makes room by closing an idle connection.
      if (this.open.size >= this.options.connections && this.idle.length > 0) this.retire(this.idle.shift() as Connection)
      if (this.open.size >= this.options.connections) break
      this.queue.shift()
      this.open.add(new Connection(this, exchange))
    }
    if (this.closing && this.queue.length === 0 && this.settlingCount === 0 && this.idle.length === this.open.size) {
      // Each destroyed socket's close event comes back here: the idle list is emptied first, so that
      // closing n connections is n destroys, not n²/2 (136 ms and 24 MB of garbage at 4,000).
      const closingNow = this.idle
      this.idle = []
      for (const connection of closingNow) connection.socket.destroy()
      if (this.open.size === 0) this.whenDrained?.()
    }
  }

  /**
   * A response ended with its connection reusable. It goes back to the pool after the I/O ready now has
   * been handled: a server that closes after its response (llama.cpp's, while it advertises keep-alive)
   * often sends its FIN with the last bytes, and a request written in this same turn would be lost.
   */
  settleSoon(connection: Connection): void {
    if (!connection.settling) this.settlingCount++
    connection.settling = true
    setImmediate(settle, this, connection)
  }

  /** Back to the pool, unless the server closed it meanwhile (then `closedWhileSettling` took it out). */
  settle(connection: Connection): void {
    if (!this.unsettle(connection)) return
    if (!connection.socket.destroyed && connection.socket.readable) this.release(connection)
    else this.drain()
  }

  /** The server closed a connection right after its response: true when it was settling. */
  closedWhileSettling(connection: Connection): boolean {
    return this.unsettle(connection)
  }

  /** Takes a connection off the settling ones: true when it was one. */
  private unsettle(connection: Connection): boolean {
    if (!connection.settling) return false
    connection.settling = false
    this.settlingCount--
    return true
  }

  /**
   * A request ended with its connection still usable: it becomes idle for as long as our timeout, the
   * server's hint and what the server was seen to do allow; with none left, it is closed instead.
   */
  release(connection: Connection): void {
    const idleMs = Math.min(connection.keepAliveMs ?? Infinity, this.options.keepAliveTimeoutMs, this.idleLimitMs)
    if (!(idleMs > 0)) {
      this.retire(connection)
      this.drain()
      return
    }
    connection.idleSince = performance.now()
    this.idle.push(connection)
    // An idle connection does not keep the process alive, as with undici.
    connection.socket.unref()
    connection.socket.setTimeout(idleMs)
    this.drain()
  }

  /**
   * The server closed a connection that had been idle `idleMs`: connections are reused only while idle
   * for less than that, less the margin (none at all when it closes right after a response).
   */
  serverClosedIdle(idleMs: number): void {
    this.stats.closedByServerWhileIdle++
    this.idleLimitMs = Math.min(this.idleLimitMs, Math.max(0, idleMs - KEEP_ALIVE_MARGIN_MS))
    this.stats.learnedIdleLimitMs = this.idleLimitMs
  }

  /** Closes a connection we no longer want, and takes it out of the pool at once. */
  private retire(connection: Connection): void {
    connection.socket.destroy()
    this.forget(connection)
  }

  /** A connection is gone (closed by either side or failed). */
  forget(connection: Connection): void {
    this.open.delete(connection)
    this.unsettle(connection)
    const at = this.idle.indexOf(connection)
    if (at !== -1) this.idle.splice(at, 1)
    this.drain()
  }

  /** A request given up before it got a connection. */
  unqueue(exchange: PooledRequest): void {
    const at = this.queue.indexOf(exchange)
    if (at !== -1) this.queue.splice(at, 1)
  }

  get connectOptions(): { host: string; port: number; timeoutMs: number } {
    return { host: this.host, port: this.port, timeoutMs: this.options.connectTimeoutMs }
  }
}

/** One request: its handler, and the controller the handler sees. */
class PooledRequest implements Dispatcher.DispatchController {
  readonly pool: Http1Pool
  readonly handler: Dispatcher.DispatchHandler
  /** `connection: close` was asked for. (The options themselves are not kept: they hold the body.) */
  readonly reset: boolean
  /** A HEAD request: its response has no body. */
  readonly head: boolean
  /** Must go on a new connection (a re-send after a reused one died): see FreshDispatchOptions. */
  readonly fresh: boolean
  /** The request went out on a connection that had carried an earlier one. */
  reused = false
  request: string | Buffer = ''
  connection: Connection | null = null
  /** onResponseEnd or onResponseError has been called. */
  finished = false
  /** The request went out on `connection`. */
  sent = false
  private abortReason: Error | null = null
  private isPaused = false

  constructor(pool: Http1Pool, options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.pool = pool
    this.handler = handler
    this.reset = options.reset === true
    this.head = options.method === 'HEAD'
    this.fresh = (options as FreshDispatchOptions).freshConnection === true
  }

  get aborted(): boolean {
    return this.abortReason !== null
  }

  get paused(): boolean {
    return this.isPaused
  }

  get reason(): Error | null {
    return this.abortReason
  }

  abort(reason: Error): void {
    if (this.abortReason !== null || this.finished) return
    this.abortReason = reason
    // Once sent, the connection is mid-response and cannot be reused; before that it is left alone.
    if (this.connection && this.sent) this.connection.socket.destroy()
    else if (!this.connection) this.pool.unqueue(this)
    this.fail(reason)
  }

  pause(): void {
    this.isPaused = true
    this.connection?.socket.pause()
  }

  resume(): void {
    this.isPaused = false
    this.connection?.socket.resume()
  }

  fail(error: Error): void {
    if (this.finished) return
    this.finished = true
    this.handler.onResponseError?.(this, error)
  }

  end(): void {
    if (this.finished) return
    this.finished = true
    this.handler.onResponseEnd?.(this, {})
  }
}

/** One socket and the response reader on it. */
class Connection {
  readonly pool: Http1Pool
  readonly socket: Socket
  readonly reader: ResponseReader
  /** The request on this connection, if any. */
  exchange: PooledRequest | null = null
  /** Answered and reusable, waiting for the end of the I/O ready now before it goes back to the pool (settleSoon). */
  settling = false
  /** The server's keep-alive hint, shortened by KEEP_ALIVE_MARGIN_MS. */
  keepAliveMs: number | undefined
  /** When it last became idle (performance.now()). */
  idleSince = 0
  /** Requests it has carried. */
  private served = 0
  /** The current request's response has begun (a byte arrived). */
  private answered = false
  private connected = false
  /** The current response is complete: set while reading, acted on after the read. */
  private completed: boolean | null = null

  /** Opens a connection for `first`, which is sent once it is set up (none: idle once set up). */
  constructor(pool: Http1Pool, first: PooledRequest | null) {
    this.pool = pool
    this.exchange = first
    if (first) first.connection = this
    this.reader = new ResponseReader({
      onHead: (status, statusText, headers) => {
        this.keepAliveMs = keepAliveHint(headers['keep-alive'])
        const exchange = this.exchange
        if (exchange && !exchange.finished) exchange.handler.onResponseStart?.(exchange, status, headers, statusText)
      },
      onBody: (buf, start, end) => {
        const exchange = this.exchange
        if (exchange === null || exchange.finished) return
        const handler = exchange.handler as Partial<BytesHandler>
        if (handler.onResponseBytes) handler.onResponseBytes(exchange, buf, start, end)
        else handler.onResponseData?.(exchange, buf.subarray(start, end))
      },
      onComplete: (reusable) => {
        this.completed = reusable
      },
    })
    const { host, port, timeoutMs } = pool.connectOptions
    pool.stats.opened++
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: readBuffer, callback: (n: number) => this.onRead(n) },
    })
    this.socket.setTimeout(timeoutMs)
    this.socket.once('connect', () => {
      this.connected = true
      this.socket.setTimeout(0)
      const exchange = this.exchange
      this.exchange = null
      if (!exchange || exchange.finished || !this.start(exchange)) this.pool.release(this)
    })
    this.socket.on('timeout', () => {
      if (!this.connected) this.socket.destroy(new RequestFailure('timeout', `could not connect to ${host}:${port} within ${timeoutMs / 1000} s`))
      else if (this.exchange === null) this.socket.destroy()
    })
    this.socket.on('end', () => this.onEnd())
    this.socket.on('error', (error) => this.exchange?.fail(error))
    this.socket.on('close', () => {
      const exchange = this.exchange
      this.exchange = null
      exchange?.fail(new RequestFailure('server_disconnected', 'the connection closed before the response ended'))
      this.pool.forget(this)
    })
  }

  /**
   * Sends `exchange`'s request on this (set-up, idle) connection. Returns false, touching nothing, when
   * the request was given up in onRequestStart (it timed out or was interrupted while it waited): the
   * caller keeps the connection. Never calls back into the pool, so a long queue of given-up requests is
   * drained in a loop, not a recursion (200,000 of them overflowed the stack).
   */
  start(exchange: PooledRequest): boolean {
    exchange.connection = this
    exchange.handler.onRequestStart?.(exchange, {})
    if (exchange.finished) {
      exchange.connection = null
      return false
    }
    this.exchange = exchange
    this.socket.setTimeout(0)
    this.socket.ref()
    this.completed = null
    this.reader.expect(exchange.head)
    exchange.reused = this.served > 0
    if (exchange.reused) this.pool.stats.reused++
    this.served++
    this.answered = false
    exchange.sent = true
    this.socket.write(exchange.request)
    // The request is on the wire: its text need not stay in memory for the rest of the stream.
    exchange.request = ''
    return true
  }

  private onRead(n: number): boolean {
    const exchange = this.exchange
    if (exchange === null || !this.reader.busy) {
      // Bytes nobody asked for: the connection is out of step with its requests.
      this.socket.destroy()
      return false
    }
    this.answered = true
    let used: number
    try {
      readArea[n] = CR
      readArea[n + 1] = LF
      used = this.reader.feed(readArea, 0, n)
    } catch (error) {
      const message = error instanceof ResponseFormatError ? `invalid HTTP response: ${error.message}` : String(error)
      exchange.fail(error instanceof ResponseFormatError ? new RequestFailure('protocol_error', message) : (error as Error))
      this.socket.destroy()
      return false
    }
    // Bytes after the response mean the server is out of step: the connection is not reused.
    if (this.completed !== null) this.finishExchange(this.completed && used === n)
    return true
  }

  private onEnd(): void {
    const exchange = this.exchange
    if (exchange === null) {
      // Closed by the server while idle (or just after a response): out of the pool now, not when the
      // socket's close event comes, and reuse is limited to shorter idle times from now on.
      const settling = this.pool.closedWhileSettling(this)
      if (this.served > 0) this.pool.serverClosedIdle(settling ? 0 : performance.now() - this.idleSince)
      this.pool.forget(this)
      this.socket.destroy()
      return
    }
    if (this.reader.end()) this.finishExchange(false)
    else if (!this.answered && exchange.reused) {
      // The server had closed it, idle, as we sent: reuse only shorter idle times from now on.
      this.pool.serverClosedIdle(performance.now() - this.idleSince)
      exchange.fail(new RequestFailure('server_disconnected', 'the server closed the reused connection before any response byte'))
    } else exchange.fail(new RequestFailure('server_disconnected', 'the server closed the connection before the response ended'))
  }

  private finishExchange(reusable: boolean): void {
    const exchange = this.exchange as PooledRequest
    this.exchange = null
    this.completed = null
    exchange.connection = null
    exchange.end()
    if (reusable && !exchange.reset && !this.socket.destroyed) this.pool.settleSoon(this)
    else this.socket.destroy()
  }
}

function settle(pool: Http1Pool, connection: Connection): void {
  pool.settle(connection)
}

/**
 * `freshConnection: true` sends the request on a new connection, never an idle one: how a request is
 * re-sent after its reused connection closed before any response byte (request.ts).
 */
export interface FreshDispatchOptions extends Dispatcher.DispatchOptions {
  freshConnection?: boolean
}

/** Whether a request went out on a connection that had carried an earlier one (Http1Pool's controllers say; undici's do not). */
export function sentOnReusedConnection(controller: Dispatcher.DispatchController | undefined): boolean | undefined {
  // undici reports a failed connect with no controller: nothing was sent.
  if (controller === undefined) return false
  return (controller as { reused?: boolean }).reused
}

/** `Keep-Alive: timeout=5` → 4,000 ms; undefined when absent. */
function keepAliveHint(value: string | string[] | undefined): number | undefined {
  const seconds = /\btimeout=(\d+)/i.exec(String(value ?? ''))?.[1]
  return seconds === undefined ? undefined : Math.max(0, Number(seconds) * 1000 - KEEP_ALIVE_MARGIN_MS)
}

/** A header name is a token; a value never carries CR, LF or NUL (no header injection). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const BAD_VALUE = /[\r\n\0]/

/** The request line, headers and body as they go on the wire. */
function serializeRequest(options: Dispatcher.DispatchOptions, hostHeader: string): string | Buffer {
  const method = options.method ?? 'GET'
  let head = `${method} ${options.path} HTTP/1.1\r\nhost: ${hostHeader}\r\n`
  for (const [name, value] of headerPairs(options.headers)) {
    if (!HEADER_NAME.test(name)) throw new RequestFailure('other', `invalid header name "${name}"`)
    if (BAD_VALUE.test(value)) throw new RequestFailure('other', `invalid value for header "${name}": it contains a line break`)
    const lower = name.toLowerCase()
    if (lower === 'host' || lower === 'content-length' || lower === 'connection' || lower === 'transfer-encoding') continue
    head += `${name}: ${value}\r\n`
  }
  const body = options.body
  if (options.reset === true) head += 'connection: close\r\n'
  if (body === undefined || body === null) return method === 'POST' || method === 'PUT' || method === 'PATCH' ? `${head}content-length: 0\r\n\r\n` : `${head}\r\n`
  if (typeof body === 'string') return `${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  if (body instanceof Uint8Array) return Buffer.concat([Buffer.from(`${head}content-length: ${body.byteLength}\r\n\r\n`, 'latin1'), body])
  throw new RequestFailure('other', 'request bodies other than a string or bytes are not supported')
}

function headerPairs(headers: Dispatcher.DispatchOptions['headers']): [string, string][] {
  if (!headers) return []
  if (Array.isArray(headers)) {
    const pairs: [string, string][] = []
    for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([String(headers[i]), String(headers[i + 1])])
    return pairs
  }
  const pairs: [string, string][] = []
  for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v])
    else pairs.push([name, String(value)])
  }
  return pairs
}
