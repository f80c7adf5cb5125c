import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer as createRawServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { Pool } from 'undici'
import { afterEach, describe, expect, test } from 'vitest'
import { openEndpoint, redactSecrets, requestContext, sendRequest } from '../../src/client/index.ts'
import type { EndpointOptions } from '../../src/client/index.ts'
import { classifyError } from '../../src/client/errors.ts'
import { printable } from '../../src/printable.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import type { RequestRecord } from '../../src/types.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const PATH = '/v1/chat/completions'

/** An HTTP server on 127.0.0.1:0 answering with `handler`; its endpoint URL. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`
}

/** A raw TCP server on 127.0.0.1:0 that answers each connection's first bytes with `answer(socket)`. */
async function serveRaw(answer: (socket: Socket) => void): Promise<string> {
  const server = createRawServer((socket) => {
    socket.on('error', () => undefined)
    socket.once('data', () => answer(socket))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(() => new Promise((r) => server.close(() => r())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`
}

/** One request to `options.url`, as the client sends it; `dispatcher` replaces the endpoint's own. */
async function sendOne(options: EndpointOptions, extra: { retries?: number; dispatcher?: Pool; content?: string } = {}): Promise<RequestRecord> {
  const endpoint = openEndpoint({ proxy: false, ...options })
  cleanups.push(() => endpoint.close())
  const ctx = requestContext(endpoint, { model: 'm' }, await getTokenizer(), { retries: extra.retries })
  if (extra.dispatcher) ctx.dispatcher = extra.dispatcher
  return sendRequest(ctx, [{ role: 'user', content: extra.content ?? 'q' }], { id: '1', index: 0, sessionId: 's', turnIndex: 0, round: 1, concurrency: 1 })
}

/** An SSE body from chunk objects, then `[DONE]`. */
function sseBody(...chunks: object[]): string {
  return `${chunks.map((o) => `data: ${JSON.stringify(o)}\n\n`).join('')}data: [DONE]\n\n`
}

const streaming = (body: string) => (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.end(body)
}

/** A server that answers every POST with `status` and the body `answer(request headers)`. */
function echoing(status: number, answer: (headers: Record<string, unknown>) => string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(answer(req.headers))
  }
}

describe('secrets and terminal escapes in what a server sends back', () => {
  test('a key the server echoes lower-cased is redacted all the same', async () => {
    const url = await serve(echoing(401, (h) => JSON.stringify({ error: `bad token ${String(h['authorization']).toLowerCase()}` })))
    const message = (await sendOne({ url, apiKey: 'sk-SECRET-Abc123' })).error?.message ?? ''
    expect(message).toContain('[redacted]')
    expect(message.toLowerCase()).not.toContain('sk-secret-abc123')
  })

  test('the password of a URL is a secret: redacted from a message that echoes it', async () => {
    const url = await serve(echoing(403, (h) => JSON.stringify({ error: `auth was ${String(h['authorization'] ?? '')} for p4ssw0rd-xyz` })))
    const r = await sendOne({ url: url.replace('http://', 'http://user:p4ssw0rd-xyz@') })
    expect(r.ok).toBe(false)
    expect(r.error?.message).not.toContain('p4ssw0rd-xyz')
  })

  test('terminal escapes and bells in a server\'s error body never reach a message', async () => {
    const url = await serve(echoing(500, () => 'boom \u001b]0;pwned\u0007\u001b[2J\u001b[32mPASSED\u001b[0m \u009b31m'))
    const message = (await sendOne({ url })).error?.message ?? ''
    expect(message).toMatch(/^HTTP 500: boom/)
    expect(message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
  })

  test('redactSecrets and printable, case by case', () => {
    expect(redactSecrets('Key ABCdef and abcDEF and abcdef', ['abcdef'])).toBe('Key [redacted] and [redacted] and [redacted]')
    expect(redactSecrets('nothing here', ['abcdef'])).toBe('nothing here')
    expect(printable('a\u001b[31mb\tc\nd\u0007')).toBe('a?[31mb\tc\nd?')
  })
})

describe('responses too large to be real', () => {
  test('a line without end is cut at the limit as response_too_large, not buffered without bound', async () => {
    const url = await serveRaw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n')
      const block = Buffer.alloc(1024 * 1024, 0x61)
      socket.write(Buffer.concat([Buffer.from(`${(block.length + 6).toString(16)}\r\ndata: `), block, Buffer.from('\r\n')]))
      const more = Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')])
      let sent = 1
      const pump = (): void => {
        while (sent < 12 && !socket.destroyed) {
          sent++
          if (!socket.write(more)) return void socket.once('drain', pump)
        }
      }
      pump()
    })
    const r = await sendOne({ url })
    expect(r).toMatchObject({ ok: false, error: { kind: 'response_too_large' } })
    expect(r.error?.message).toMatch(/over 8 MB without a line break/)
  })
})

describe('implausible usage', () => {
  test('negative or absurd token counts are not believed: the tokenizer counts, and the record says so', async () => {
    const url = await serve(streaming(sseBody(
      { choices: [{ index: 0, delta: { content: 'hello there' } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: -5, completion_tokens: 1e308, total_tokens: 1e308 } },
    )))
    const r = await sendOne({ url }, { content: 'one two three' })
    expect(r).toMatchObject({ ok: true, usageRejected: true, inputTokenSource: 'tokenizer', outputTokenSource: 'tokenizer', inputTokens: 3, outputTokens: 2 })
  })
})

describe('the client\'s own limits', () => {
  test.each(['EMFILE', 'ENFILE', 'EADDRNOTAVAIL'])('%s is a client_error that says what to raise, not a server failure', (code) => {
    const failure = classifyError(Object.assign(new Error(`connect ${code}`), { code }), `http://127.0.0.1:1${PATH}`)
    expect(failure.kind).toBe('client_error')
    expect(failure.message).toMatch(/ulimit -n|concurrency/)
  })
})

describe('a long answer without usage', () => {
  test('is counted in slices that yield, to the same count as the tokenizer gives the whole text', async () => {
    const words = 'lorem ipsum dolor sit amet '.repeat(8_000) // 216 KB of text, no usage
    const url = await serve(streaming(sseBody({ choices: [{ index: 0, delta: { content: words } }] }, { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })))
    const r = await sendOne({ url })
    expect(r).toMatchObject({ ok: true, outputTokenSource: 'tokenizer', outputTokens: (await getTokenizer()).count(words) })
  })
})

describe('answers that are not HTTP', () => {
  test.each(['fluxperf-http1', 'undici'] as const)('random bytes are a protocol_error over %s, not a server disconnect', async (transport) => {
    const url = await serveRaw((socket) => socket.end(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x0d, 0x0a, 0x0d, 0x0a])))
    let dispatcher: Pool | undefined
    if (transport === 'undici') {
      const pool = new Pool(new URL(url).origin)
      cleanups.push(() => pool.close())
      dispatcher = pool
    }
    expect((await sendOne({ url }, { dispatcher })).error?.kind).toBe('protocol_error')
  })
})

describe('Retry-After', () => {
  test('a wait longer than --timeout is cut to it: the retry happens', async () => {
    let posts = 0
    const url = await serve((_req, res) => {
      posts++
      res.writeHead(429, { 'retry-after': '3600', 'content-type': 'application/json' })
      res.end('{"error":"slow down"}')
    })
    const r = await sendOne({ url, timeoutMs: 200 }, { retries: 1 })
    expect(posts).toBe(2)
    expect(r).toMatchObject({ ok: false, retries: 1, error: { kind: 'rate_limited' } })
  })
})
