import { createServer } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import type { AddressInfo, Socket } from 'node:net'
import type { ApiKind } from './openai.ts'
import { Http1Pool } from './http1Pool.ts'
import { sendRequest } from './request.ts'
import { EVENTS_PER_PACKET, SERVER_STYLES, syntheticResponse } from './syntheticAnswers.ts'
import type { RequestContext } from './request.ts'
import { confinedToOneCpu, idleHelperThreads, keepCpuAwake, realtimeEventLoop, yieldToWaitingHelpers } from './helperThreads.ts'

/**
 * Streams synthetic tokens over loopback through the client's own per-chunk path (socket read → HTTP
 * framing → SSE → chunk reading → timestamps) before a run's clock starts, so V8 has optimised all of
 * it before the first measured token.
 *
 * Why: V8 compiles a hot function in the background once it has run often enough. On a client pinned
 * to one core that compile takes the core from the event loop for 3–5 ms, at a moment set by the call
 * count: at 100 streams it landed on the 30th token of every stream, and every chunk that arrived
 * meanwhile was stamped late (ITL error p99 3–5 ms instead of under 1). An in-memory replay was not
 * enough: the socket callbacks and Node's read path then compiled during the run instead. Costs a
 * few tenths of a second, once per process.
 *
 * The first round runs on a pool of its own that is then closed: closing the first connections
 * changes a prototype chain inside Node's net module, which throws away the optimised code of its
 * read path (`onStreamRead`), so a close after the last round made that code compile again during the
 * run (--trace-deopt: "dependent prototype chain changed"). Two token events per packet give the
 * per-event code (SSE dispatch) twice the calls of the per-read code, as it needs to reach the tier.
 */
let warmed: Promise<void> | undefined

/**
 * Concurrent streams, token packets each, tokens per packet and rounds: enough calls, with TurboFan's
 * threshold at TURBOFAN_AFTER_CALLS, for V8's optimising tier (Node 24) at every level, per read and
 * per SSE event. Then SHORT_REQUESTS one-token requests, SHORT_STREAMS at a time, for the code that
 * runs once per request (sending, the first content chunk, the record).
 */
const WARM_STREAMS = 16
const WARM_PACKETS = 64
const WARM_TOKENS = WARM_PACKETS * EVENTS_PER_PACKET
const WARM_ROUNDS = 16
const SHORT_REQUESTS = 1024
const SHORT_STREAMS = 64
/** Streamed rounds (the last ones) and every other batch of one-token requests answer without usage. */
const NO_USAGE_ROUNDS = 2

/**
 * Calls before V8 optimises a function with TurboFan (its default is 3,000), unless the process was
 * started with a value of its own. At the default, functions called once per event-loop iteration
 * (`performance.now`, libuv's loop counter) or once per request did not reach it during the
 * warm-up and compiled during a measured run instead: the background compile took the pinned core
 * from the loop for 2–5 ms at a moment set by the call count (through `fluxperf run`: Node's
 * `onStreamRead` 218 ms into round 1, the SSE dispatch 380 ms into round 2, `--trace-opt`).
 */
const TURBOFAN_AFTER_CALLS = 600

/**
 * Warms the client once per process (later calls return the first call's promise).
 * @param run the run's request context. The warm-up's requests are copies of it, so they have its
 *   shape: warmed with a context of another shape, V8's optimised `start`, `buildPayload` and exchange
 *   code met the run's first requests with "wrong map" and was thrown away (`--trace-deopt`), and round 1
 *   dispatched its requests in the slow tiers. Its tokenizer counts the warm-up answers that report no
 *   usage, so that path (js-tiktoken, the deferred record: deferPastIo.ts) is compiled too: cold, its
 *   first count took 5 ms among the first answers to end.
 */
export function warmUpClient(kind: ApiKind = 'chat', run?: RequestContext): Promise<void> {
  warmed ??= warm(run?.kind ?? kind, run).catch(() => undefined)
  return warmed
}

/** Lowers V8's TurboFan threshold to TURBOFAN_AFTER_CALLS unless the process chose one itself. */
function optimiseSooner(): void {
  const flag = turbofanThresholdFlag(process.execArgv, process.env['NODE_OPTIONS'])
  if (flag !== undefined) setFlagsFromString(flag)
}

/** The V8 flag the warm-up sets, or undefined when Node's arguments or NODE_OPTIONS already set one. */
export function turbofanThresholdFlag(execArgv: readonly string[], nodeOptions = ''): string | undefined {
  const chosen = [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => /^--invocation[-_]count[-_]for[-_]turbofan\b/.test(arg))
  return chosen ? undefined : `--invocation-count-for-turbofan=${TURBOFAN_AFTER_CALLS}`
}

async function warm(kind: ApiKind, run: RequestContext | undefined): Promise<void> {
  optimiseSooner()
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
  const round = (dispatcher: Http1Pool, n: number): Promise<unknown> => Promise.all(Array.from({ length: WARM_STREAMS }, (_, i) =>
    sendRequest(n >= WARM_ROUNDS - NO_USAGE_ROUNDS ? noUsage({ ...ctx, dispatcher }) : { ...ctx, dispatcher }, messages, { id: `warm-${n}-${i}`, index: i, sessionId: 'warm-up', turnIndex: 0, round: 0, concurrency: WARM_STREAMS })))
  try {
    await round(first, 0)
    await first.close()
    const pool = openPool()
    for (let n = 1; n < WARM_ROUNDS; n++) await round(pool, n)
    const shortCtx = { ...ctx, dispatcher: pool, path: '/short' }
    for (let n = 0; n < SHORT_REQUESTS / SHORT_STREAMS; n++) {
      await Promise.all(Array.from({ length: SHORT_STREAMS }, (_, i) =>
        sendRequest(n % 2 === 1 ? noUsage(shortCtx) : shortCtx, messages, { id: `warm-short-${n}-${i}`, index: i, sessionId: 'warm-up', turnIndex: 0, round: 0, concurrency: SHORT_STREAMS })))
    }
    await pool.close()
  } finally {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
  // Let the background compiler finish while nothing is measured, then, on a client confined to one
  // core, keep V8's helper threads and other threads from taking it from the event loop during the run
  // (helpers to SCHED_IDLE; the loop to SCHED_FIFO 1 where permitted, then yielding to helpers that
  // wait for the core while it is kept busy, and an idle-class thread spinning so the core never
  // halts: helperThreads.ts).
  await new Promise((resolve) => setTimeout(resolve, 25))
  if (confinedToOneCpu()) {
    idleHelperThreads()
    if (realtimeEventLoop()) {
      yieldToWaitingHelpers()
      await keepCpuAwake()
    }
  }
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
