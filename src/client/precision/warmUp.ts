import { createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import type { ApiKind } from '../openai.ts'
import { Http1Pool } from '../http1Pool.ts'
import { sendRequest } from '../request.ts'
import type { RequestContext } from '../request.ts'
import type { RequestRecord } from '../../types.ts'
import { EVENTS_PER_PACKET, SERVER_STYLES, syntheticResponse } from './syntheticAnswers.ts'

/**
 * Streams synthetic tokens over loopback through the client's own per-chunk path (socket read → HTTP
 * framing → SSE → chunk reading → timestamps) before a run's clock starts, so V8 has optimised all of it
 * before the first measured token: otherwise a background compile took a pinned core 3–5 ms at a moment
 * set by the call count (ITL error p99 3–5 ms instead of under 1 at 100 streams). The first round runs
 * on a pool of its own that is then closed (closing connections deoptimises Node's read path once).
 * Why and how it was found: docs/design/precision.md ("The client warmed up").
 */

/**
 * Concurrent streams, token packets each, tokens per packet and rounds: enough calls, with TurboFan's
 * threshold lowered (v8Flags.ts), for V8's optimising tier at every level, per read and per SSE event.
 * Then SHORT_REQUESTS one-token requests, SHORT_STREAMS at a time, for the code that runs once per
 * request (sending, the first content chunk, the record).
 */
const WARM_STREAMS = 16
const WARM_PACKETS = 64
const WARM_TOKENS = WARM_PACKETS * EVENTS_PER_PACKET
const WARM_ROUNDS = 16
const SHORT_REQUESTS = 1024
const SHORT_STREAMS = 64
/** Streamed rounds (the last ones) and every other batch of one-token requests answer without usage. */
const NO_USAGE_ROUNDS = 2

/** What warmUpClient() did. */
export interface WarmUp {
  /** How long the warm-up took, s. */
  seconds: number
  /** True when the call joined a warm-up another caller had started (and only waited for it). */
  joined: boolean
}

let underWay: Promise<number> | undefined

/**
 * Warms the client. Every call warms (precision mode calls it after each full collection it forces, which
 * throws the optimised code away); calls while a warm-up is under way wait for that one. Rejects when the
 * warm-up fails.
 * @param run the run's request context. The warm-up's requests are copies of it, so they have its shape:
 *   warmed on another shape, V8's optimised request code met the run's first requests with "wrong map"
 *   and was thrown away. Its tokenizer counts the warm-up answers that report no usage, so that path is
 *   compiled too.
 */
export async function warmUpClient(kind: ApiKind = 'chat', run?: RequestContext): Promise<WarmUp> {
  if (underWay) return { seconds: await underWay, joined: true }
  const t0 = performance.now()
  const warming = warm(run?.kind ?? kind, run).then(() => (performance.now() - t0) / 1000)
  underWay = warming
  try {
    return { seconds: await warming, joined: false }
  } finally {
    underWay = undefined
  }
}

async function warm(kind: ApiKind, run: RequestContext | undefined): Promise<void> {
  // Every style, streamed and one-token, with and without usage; each request gets the next style.
  const answers = (tokens: number, usage: boolean): Buffer[][] => SERVER_STYLES.map((style) => syntheticResponse(kind, tokens, usage, style))
  const responses = { long: answers(WARM_TOKENS, true), short: answers(1, true), longNoUsage: answers(WARM_TOKENS, false), shortNoUsage: answers(1, false) }
  let served = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    answerRequests(socket, (head) => {
      const noUsage = head.includes('/no-usage')
      const set = head.includes('/short') ? (noUsage ? responses.shortNoUsage : responses.short) : noUsage ? responses.longNoUsage : responses.long
      return set[served++ % set.length] as Buffer[]
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  const openPool = (): Http1Pool => new Http1Pool(`http://127.0.0.1:${port}`, { connections: Math.max(WARM_STREAMS, SHORT_STREAMS), keepAliveTimeoutMs: 5_000, connectTimeoutMs: 5_000 })
  const first = openPool()
  const path = kind === 'chat' ? '/v1/chat/completions' : '/v1/completions'
  const url = `http://127.0.0.1:${port}/`
  // The run's context with this server's address (same properties in the same order: the same shape).
  // Its headers too, as a copy with the same shape and no values (they may carry the API key): headers
  // of another shape changed a field type the request code depended on (`--trace-deopt`). Streamed
  // even for a --no-stream run: this server only streams, and the streamed path is the one timed.
  const ctx: RequestContext = run
    ? { ...run, dispatcher: first, path, url, headers: blankValues(run.headers), generation: { ...run.generation, stream: true }, closeConnection: false }
    : {
        dispatcher: first,
        path,
        url,
        kind,
        headers: { 'content-type': 'application/json' },
        generation: { model: 'warm-up', maxTokens: WARM_TOKENS },
        timeoutMs: 30_000,
        closeConnection: false,
        tokenizer: { encoding: 'o200k_base', encode: () => [], decode: () => '', count: () => 0, countLater: async () => 0, truncate: (t: string) => t },
      }
  // Answers without usage make the client count tokens (with the run's tokenizer), in some rounds.
  const noUsage = (c: RequestContext): RequestContext => (run ? { ...c, path: `${c.path}/no-usage` } : c)
  const messages = [{ role: 'user' as const, content: 'warm-up' }]
  // A failed warm-up request means the per-chunk path was not warmed: the warm-up fails, saying why.
  let failed = 0
  let firstFailure: RequestRecord | undefined
  const check = (records: RequestRecord[]): void => {
    for (const r of records) {
      if (r.ok) continue
      failed++
      firstFailure ??= r
    }
  }
  const round = async (dispatcher: Http1Pool, n: number): Promise<void> => check(await Promise.all(Array.from({ length: WARM_STREAMS }, (_, i) =>
    sendRequest(n >= WARM_ROUNDS - NO_USAGE_ROUNDS ? noUsage({ ...ctx, dispatcher }) : { ...ctx, dispatcher }, messages, { id: `warm-${n}-${i}`, index: i, sessionId: 'warm-up', turnIndex: 0, round: 0, concurrency: WARM_STREAMS }))))
  try {
    await round(first, 0)
    await first.close()
    const pool = openPool()
    for (let n = 1; n < WARM_ROUNDS; n++) await round(pool, n)
    const shortCtx = { ...ctx, dispatcher: pool, path: '/short' }
    for (let n = 0; n < SHORT_REQUESTS / SHORT_STREAMS; n++) {
      check(await Promise.all(Array.from({ length: SHORT_STREAMS }, (_, i) =>
        sendRequest(n % 2 === 1 ? noUsage(shortCtx) : shortCtx, messages, { id: `warm-short-${n}-${i}`, index: i, sessionId: 'warm-up', turnIndex: 0, round: 0, concurrency: SHORT_STREAMS }))))
    }
    await pool.close()
  } finally {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
  if (firstFailure) {
    const total = WARM_ROUNDS * WARM_STREAMS + SHORT_REQUESTS
    throw new Error(`${failed} of ${total} requests over loopback failed (first: ${firstFailure.error?.kind}: ${firstFailure.error?.message})`)
  }
  // Let the background compiler finish while nothing is measured.
  await new Promise((resolve) => setTimeout(resolve, 25))
}

/** A copy of `headers` (the same keys in the same order, hence the same shape in V8) with blank values. */
function blankValues(headers: Record<string, string>): Record<string, string> {
  const copy = { ...headers }
  for (const name of Object.keys(copy)) copy[name] = name === 'content-type' ? 'application/json' : '-'
  return copy
}

/** Answers each request on a connection with its packets, one per event-loop turn, like a server streaming tokens. */
function answerRequests(socket: Socket, packetsFor: (head: string) => Buffer[]): void {
  let pending = ''
  socket.setNoDelay(true)
  socket.setEncoding('latin1')
  socket.on('data', (data: string) => {
    pending += data
    for (;;) {
      const headEnd = pending.indexOf('\r\n\r\n')
      if (headEnd === -1) return
      const head = pending.slice(0, headEnd)
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
      if (pending.length < headEnd + 4 + length) return
      pending = pending.slice(headEnd + 4 + length)
      const packets = packetsFor(head)
      let next = 0
      const send = (): void => {
        if (socket.destroyed) return
        socket.write(packets[next++] as Buffer)
        if (next < packets.length) setImmediate(send)
      }
      send()
    }
  })
  socket.on('error', () => socket.destroy())
}
