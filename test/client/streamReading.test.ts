/**
 * Streams read as servers mean them, over both transports: fluxperf's own HTTP/1.1 reader (Http1Pool) and
 * undici's Pool (both on http:// here; https:// uses the same Pool). A byte-order mark, a compressed
 * body, a missing `[DONE]`, a JSON answer to a streaming request, a redirect, and the case of a
 * Content-Type each have a case, served byte for byte by a raw `node:net` server.
 */
import { createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { constants, createBrotliCompress, createDeflate, createDeflateRaw, createGzip, gzipSync } from 'node:zlib'
import type { Transform } from 'node:stream'
import { Pool } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { onRequests } from '../helpers/rawRequests.ts'
import { SseParser } from '../../src/client/sse.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import { contextFor, send } from '../helpers/client.ts'

/** What a scripted server writes: bytes, or a pause (ms). */
type Step = string | Buffer | number

interface ScriptedServer {
  url: string
  /** Heads of the requests received. */
  heads: string[]
}

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** A server on 127.0.0.1:0 that answers every request with `script` and then closes the connection. */
async function scripted(script: Step[]): Promise<ScriptedServer> {
  const heads: string[] = []
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    socket.setNoDelay(true)
    onRequests(socket, async (head) => {
      heads.push(head)
      for (const step of script) {
        if (socket.destroyed) return
        if (typeof step === 'number') await new Promise((resolve) => setTimeout(resolve, step))
        else socket.write(typeof step === 'string' ? Buffer.from(step, 'utf8') : step)
      }
      socket.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy()
    server.close(() => resolve())
  }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`, heads }
}

const transports = ['fluxperf-http1', 'undici'] as const
type Transport = (typeof transports)[number]

/** A request context for `url` over `transport`. */
function client(url: string, transport: Transport, overrides: Parameters<typeof contextFor>[1] = {}) {
  const { ctx, endpoint } = contextFor(url, overrides)
  closers.push(() => endpoint.close())
  if (transport === 'undici') {
    const pool = new Pool(new URL(url).origin, { connections: 2 })
    closers.push(() => pool.close())
    ctx.dispatcher = pool
  }
  return ctx
}

const head = (status: number, headers: Record<string, string>): string =>
  `HTTP/1.1 ${status} X\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`
const SSE_HEAD = head(200, { 'content-type': 'text/event-stream', 'transfer-encoding': 'chunked' })
/** One chunk of a chunked body. */
const chunk = (data: string | Buffer): Buffer => {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')])
}
const LAST_CHUNK = '0\r\n\r\n'
const token = (text: string): string =>
  `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`
const FINISH = 'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
const USAGE = 'data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}\n\n'
const DONE = 'data: [DONE]\n\n'
const WHOLE = JSON.stringify({
  id: 'c1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hi there' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
})

/** Each event compressed as a server streams it: written, then flushed, so each piece decodes on its own. */
async function compressedPieces(coding: string, events: string[]): Promise<Buffer[]> {
  const stream: Transform = coding === 'gzip' ? createGzip() : coding === 'deflate' ? createDeflate() : coding === 'deflate (raw)' ? createDeflateRaw() : createBrotliCompress()
  const flushKind = coding === 'br' ? constants.BROTLI_OPERATION_FLUSH : constants.Z_SYNC_FLUSH
  let out: Buffer[] = []
  stream.on('data', (b: Buffer) => out.push(b))
  const pieces: Buffer[] = []
  for (const event of events) {
    stream.write(event)
    await new Promise<void>((resolve) => (stream as unknown as { flush(kind: number, cb: () => void): void }).flush(flushKind, resolve))
    pieces.push(Buffer.concat(out))
    out = []
  }
  await new Promise<void>((resolve) => stream.end(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  pieces.push(Buffer.concat(out))
  return pieces
}

describe.each(transports)('over %s', (transport) => {
  test('a byte-order mark before the first event: the first token counts, and TTFT is its arrival', async () => {
    const s = await scripted([SSE_HEAD, chunk(`\uFEFF${token('Hel')}`), 60, chunk(token('lo') + FINISH + DONE), LAST_CHUNK])
    const r = await send(client(s.url, transport), 'x')
    expect(r.ok).toBe(true)
    expect(r.outputText).toBe('Hello')
    expect(r.chunkOffsetsMs).toHaveLength(2)
    expect(r.ttftMs).toBe(r.chunkOffsetsMs[0])
    // Without the BOM skipped, TTFT would be the second token's arrival, one ITL (60 ms) late.
    expect((r.chunkOffsetsMs[1] as number) - (r.ttftMs as number)).toBeGreaterThan(40)
  })

  test.each(['gzip', 'deflate', 'deflate (raw)', 'br'])('a %s-encoded stream is decoded, each token stamped with its arrival', async (coding) => {
    const pieces = await compressedPieces(coding, [token('Hello'), token(' wor'), token('ld'), FINISH + USAGE + DONE])
    const encoding = coding.replace(' (raw)', '')
    const s = await scripted([
      head(200, { 'content-type': 'text/event-stream', 'content-encoding': encoding, 'transfer-encoding': 'chunked' }),
      chunk(pieces[0] as Buffer), 40, chunk(pieces[1] as Buffer), 40, chunk(pieces[2] as Buffer), 40,
      chunk(Buffer.concat(pieces.slice(3))), LAST_CHUNK,
    ])
    const r = await send(client(s.url, transport), 'x')
    expect(r.error).toBeUndefined()
    expect(r).toMatchObject({ ok: true, outputText: 'Hello world', outputTokens: 3, finishReason: 'stop' })
    expect(r.noDoneMarker).toBeUndefined()
    const [a, b, c] = r.chunkOffsetsMs as [number, number, number]
    expect(b - a).toBeGreaterThan(25)
    expect(c - b).toBeGreaterThan(25)
    expect(r.latencyMs).toBeGreaterThan(c + 25)
  })

  test('a gzip-encoded error body is decoded into the failure message; a gzip JSON answer is read', async () => {
    const error = gzipSync(JSON.stringify({ error: { message: 'engine overloaded, try later' } }))
    const failing = await scripted([head(503, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(error.length) }), error])
    const r = await send(client(failing.url, transport), 'x')
    expect(r).toMatchObject({ ok: false, status: 503, error: { kind: 'http_error' } })
    expect(r.error?.message).toContain('engine overloaded, try later')
    const whole = gzipSync(WHOLE)
    const answering = await scripted([head(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(whole.length) }), whole])
    const ok = await send(client(answering.url, transport, { generation: { stream: false } }), 'x')
    expect(ok).toMatchObject({ ok: true, outputText: 'Hi there', outputTokens: 2 })
  })

  test('an unsupported or corrupt encoding fails with a message naming it', async () => {
    const unsupported = await scripted([head(200, { 'content-type': 'text/event-stream', 'content-encoding': 'compress', 'transfer-encoding': 'chunked' }), chunk('xx'), LAST_CHUNK])
    const r = await send(client(unsupported.url, transport), 'x')
    expect(r).toMatchObject({ ok: false, error: { kind: 'bad_content_type' } })
    expect(r.error?.message).toMatch(/unsupported content-encoding "compress".*sends no Accept-Encoding/)
    const corrupt = await scripted([head(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip', 'transfer-encoding': 'chunked' }), chunk(token('not gzip at all')), LAST_CHUNK])
    const bad = await send(client(corrupt.url, transport), 'x')
    expect(bad).toMatchObject({ ok: false, error: { kind: 'malformed_stream' } })
    expect(bad.error?.message).toMatch(/cannot decode the gzip-encoded body/)
  })

  test('no Accept-Encoding is sent (undici\'s dispatcher sends none either)', async () => {
    const s = await scripted([SSE_HEAD, chunk(token('a') + FINISH + DONE), LAST_CHUNK])
    await send(client(s.url, transport), 'x')
    expect(s.heads[0]).toBeDefined()
    expect(s.heads[0]).not.toMatch(/accept-encoding/i)
  })

  test('a finished stream that ends with its body, without [DONE], is ok and says so; its latency runs to the end of the body', async () => {
    const s = await scripted([SSE_HEAD, chunk(token('Hel')), 20, chunk(token('lo') + FINISH + USAGE), 60, LAST_CHUNK])
    const r = await send(client(s.url, transport), 'x')
    expect(r).toMatchObject({ ok: true, noDoneMarker: true, finishReason: 'stop', outputText: 'Hello', outputTokens: 3 })
    expect(r.latencyMs).toBeGreaterThan((r.chunkOffsetsMs[1] as number) + 40)
  })

  test('the same with a body that ends at the connection\'s close', async () => {
    const s = await scripted([head(200, { 'content-type': 'text/event-stream' }), token('Hel'), 20, token('lo') + FINISH])
    const r = await send(client(s.url, transport), 'x')
    expect(r).toMatchObject({ ok: true, noDoneMarker: true, outputText: 'Hello' })
  })

  test('a stream that ends without [DONE] and without a finish_reason is still incomplete; with [DONE] nothing is noted', async () => {
    const cut = await scripted([SSE_HEAD, chunk(token('Hel') + token('lo')), LAST_CHUNK])
    const r = await send(client(cut.url, transport), 'x')
    expect(r).toMatchObject({ ok: false, error: { kind: 'incomplete_stream' } })
    expect(r.error?.message).toMatch(/without data: \[DONE\]/)
    const whole = await scripted([SSE_HEAD, chunk(token('Hel') + token('lo') + FINISH + DONE), LAST_CHUNK])
    const done = await send(client(whole.url, transport), 'x')
    expect(done.ok).toBe(true)
    expect(done.noDoneMarker).toBeUndefined()
  })

  test('a JSON answer to a streaming request is measured as non-streamed (TTFT = latency) and marked streamed: false', async () => {
    const s = await scripted([head(200, { 'content-type': 'application/json', 'content-length': String(WHOLE.length) }), WHOLE])
    const r = await send(client(s.url, transport), 'x')
    expect(r).toMatchObject({ ok: true, streamed: false, outputText: 'Hi there', outputTokens: 2, tpotMs: null })
    expect(r.ttftMs).toBe(r.latencyMs)
    expect(r.chunkOffsetsMs).toEqual([r.ttftMs])
    // Asked for without streaming, a JSON answer is what was expected: nothing is noted.
    const plain = await send(client(s.url, transport, { generation: { stream: false } }), 'x')
    expect(plain.ok).toBe(true)
    expect(plain.streamed).toBeUndefined()
  })

  test('a redirect is an error naming its Location; it is not followed', async () => {
    const body = '<a href="/v2/chat/completions">moved</a>'
    const s = await scripted([head(307, { location: '/v2/chat/completions', 'content-type': 'text/html', 'content-length': String(body.length) }), body])
    const r = await send(client(s.url, transport), 'x')
    expect(r).toMatchObject({ ok: false, status: 307, error: { kind: 'http_error' } })
    expect(r.error?.message).toContain(`HTTP 307 redirect to ${new URL(s.url).origin}/v2/chat/completions`)
    expect(r.error?.message).toMatch(/does not follow redirects/)
    expect(s.heads).toHaveLength(1)
    const bare = await scripted([head(301, { 'content-length': '0' })])
    const r2 = await send(client(bare.url, transport), 'x')
    expect(r2.error?.message).toMatch(/^HTTP 301 redirect without a Location header/)
  })

  test('Content-Type is matched case-insensitively', async () => {
    const s = await scripted([head(200, { 'content-type': 'Text/Event-Stream; charset=UTF-8', 'transfer-encoding': 'chunked' }), chunk(token('ok') + FINISH + DONE), LAST_CHUNK])
    expect(await send(client(s.url, transport), 'x')).toMatchObject({ ok: true, outputText: 'ok' })
    const j = await scripted([head(200, { 'content-type': 'Application/JSON', 'content-length': String(WHOLE.length) }), WHOLE])
    expect(await send(client(j.url, transport, { generation: { stream: false } }), 'x')).toMatchObject({ ok: true, outputText: 'Hi there' })
  })

  test('a 103 Early Hints before the stream is skipped', async () => {
    const s = await scripted(['HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n', 10, SSE_HEAD, chunk(token('ok') + FINISH + DONE), LAST_CHUNK])
    expect(await send(client(s.url, transport), 'x')).toMatchObject({ ok: true, status: 200, outputText: 'ok' })
  })
})

describe('the mock\'s no-done fault (a finish chunk, then the end of the body)', () => {
  let mock: MockServer
  beforeAll(async () => {
    mock = await startMockServer({ port: 0, itlMs: 1, itlPerSeqMs: 0, baseLatencyMs: 1, jitter: 0 })
  })
  afterAll(() => mock.close())

  test.each(transports)('is accepted over %s, with noDoneMarker', async (transport) => {
    const r = await send(client(`${mock.url}/v1/chat/completions`, transport, { headers: { 'x-mock-fault': 'no-done' } }), 'x')
    expect(r).toMatchObject({ ok: true, noDoneMarker: true, outputTokens: 8 })
  })
})

describe('SseParser: a leading byte-order mark', () => {
  const parse = (...pieces: Buffer[]): string[] => {
    const events: string[] = []
    const parser = new SseParser((data) => events.push(data))
    for (const piece of pieces) parser.push(piece, 0)
    parser.end(0)
    return events
  }
  const BOM = Buffer.from([0xef, 0xbb, 0xbf])

  test('is skipped, even split across three reads', () => {
    expect(parse(Buffer.concat([BOM, Buffer.from('data: a\n\ndata: b\n\n')]))).toEqual(['a', 'b'])
    expect(parse(BOM.subarray(0, 1), BOM.subarray(1, 2), Buffer.concat([BOM.subarray(2), Buffer.from('data: a\n\n')]))).toEqual(['a'])
    expect(parse(BOM, Buffer.from('data: a\n\n'))).toEqual(['a'])
  })

  test('bytes that only begin like one are kept', () => {
    // EF BB then "d": not a BOM; the bytes stay part of the first line, whose field is then not "data".
    expect(parse(BOM.subarray(0, 2), Buffer.from('data: a\n\ndata: b\n\n'))).toEqual(['b'])
    expect(parse(Buffer.from('data: \xef\xbb', 'latin1'), Buffer.from('\xbf\n\n', 'latin1'))).toEqual(['\uFEFF'])
  })

  test('only at the very start of the stream', () => {
    expect(parse(Buffer.from('data: a\n\n'), Buffer.concat([BOM, Buffer.from('data: b\n\n')]))).toEqual(['a'])
  })
})
