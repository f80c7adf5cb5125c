/**
 * Framing and header-limit parity: fluxperf's own HTTP/1.1 reader (Http1Pool, plain http://) must accept
 * and refuse exactly what undici (https://, proxies) does, so that a server passes or fails the same
 * whichever transport a URL picks. Each case is a raw response written by a `node:net` server; the same
 * request goes once through `Http1Pool` and once through undici's `Pool` (both over http://), and the
 * two must agree on accept vs refuse (and on the body when accepted). The expected verdict is undici 8's,
 * recorded here so that a change in undici shows up as a failing case rather than a silent drift.
 */
import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { Pool } from 'undici'
import type { Dispatcher } from 'undici'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { onRequests } from '../helpers/rawRequests.ts'
import { Http1Pool } from '../../src/client/http1Pool.ts'
import { MAX_HEADER_BYTES, ResponseReader } from '../../src/client/http1Response.ts'

interface Case {
  name: string
  /** The response, in pieces written ~15 ms apart (so that they arrive in separate reads). */
  wire: string[]
  /** undici 8's verdict. */
  undici: 'accept' | 'refuse'
}

const H = 'HTTP/1.1 200 OK\r\n'
const CL2 = 'content-length: 2\r\n\r\nhi'
const chunked = (body: string): string => `${H}transfer-encoding: chunked\r\n\r\n${body}`
/** A header whose name and value make `bytes` of the limit (`x-b: aaa…`). */
const sized = (bytes: number): string => `x-b: ${'a'.repeat(bytes - 3)}\r\n`
/** Headers (plus `content-length: 2`) whose names and values add up to exactly `total` bytes. */
const headOf = (total: number): string => H + sized(total - 'content-length'.length - 1) + CL2
const many = (total: number): string => {
  // 1,000 headers of 5 + 10 bytes, then one to make up the rest.
  const lines = Array.from({ length: 1000 }, (_, i) => `x${String(i).padStart(4, '0')}: ${'v'.repeat(10)}\r\n`).join('')
  return H + lines + sized(total - 15_000 - 'content-length'.length - 1) + CL2
}
const limit = MAX_HEADER_BYTES

const accept = (name: string, ...wire: string[]): Case => ({ name, wire, undici: 'accept' })
const refuse = (name: string, ...wire: string[]): Case => ({ name, wire, undici: 'refuse' })

const cases: Case[] = [
  // Ordinary framing.
  accept('Content-Length body', H + CL2),
  accept('chunked body', chunked('2\r\nhi\r\n0\r\n\r\n')),
  accept('chunked body with a trailer', chunked('2\r\nhi\r\n0\r\nx-t: 1\r\n\r\n')),
  accept('chunked, pieces cut inside the size line and the final CRLF', `${H}transfer-encoding: chunked\r\n\r\n`, '1', '0\r\n0123456789abcdef\r\n0\r', '\n\r\n'),
  accept('body until close (no length)', `${H}\r\nhi`),
  accept('HTTP/1.0 body until close', 'HTTP/1.0 200 OK\r\n\r\nhi'),
  accept('HTTP/1.0 chunked', 'HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n'),
  accept('HTTP/0.9 in the status line', `HTTP/0.9 200 OK\r\n${CL2}`),
  accept('HTTP/2.0 in the status line', `HTTP/2.0 200 OK\r\n${CL2}`),
  accept('bytes after a Content-Length body are left alone', `${H}content-length: 2\r\n\r\nhiEXTRA`),
  accept('204 without a body', 'HTTP/1.1 204 No Content\r\n\r\n'),
  accept('204 announcing a body: none is read', 'HTTP/1.1 204 No Content\r\ncontent-length: 2\r\n\r\nhi'),
  accept('304', 'HTTP/1.1 304 Not Modified\r\n\r\n'),
  accept('status 999', `HTTP/1.1 999 Odd\r\n${CL2}`),
  // Status lines.
  accept('no reason phrase', `HTTP/1.1 200\r\n${CL2}`),
  accept('empty reason phrase', `HTTP/1.1 200 \r\n${CL2}`),
  accept('control characters, tab, NUL and latin1 in the reason phrase', `HTTP/1.1 200 O\x01K\tx\0\xe9\r\n${CL2}`),
  accept('a 40 KB reason phrase (status lines do not count towards the header limit)', `HTTP/1.1 200 ${'O'.repeat(40_000)}\r\n${CL2}`),
  accept('empty lines before the status line', `\r\n\n${H}${CL2}`),
  refuse('lower-case http/', `http/1.1 200 OK\r\n${CL2}`),
  refuse('HTTP/1.2', `HTTP/1.2 200 OK\r\n${CL2}`),
  refuse('HTTP/3.0', `HTTP/3.0 200 OK\r\n${CL2}`),
  refuse('HTTP/11.1', `HTTP/11.1 200 OK\r\n${CL2}`),
  refuse('no space before the reason', `HTTP/1.1 200OK\r\n${CL2}`),
  refuse('two spaces before the status', `HTTP/1.1  200 OK\r\n${CL2}`),
  refuse('two-digit status', `HTTP/1.1 20 OK\r\n${CL2}`),
  refuse('status 000', `HTTP/1.1 000 X\r\n${CL2}`),
  refuse('status 099', `HTTP/1.1 099 X\r\n${CL2}`),
  refuse('bare CR in the reason phrase', `HTTP/1.1 200 O\rK\r\n${CL2}`),
  refuse('not HTTP at all', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'),
  // 1xx interim responses.
  accept('102 Processing, then the response', `HTTP/1.1 102 Processing\r\n\r\n${H}${CL2}`),
  accept('103 Early Hints with headers, then the response', `HTTP/1.1 103 Early Hints\r\nlink: </a>; rel=preload\r\n\r\n${H}${CL2}`),
  accept('103 with a Content-Length (ignored), then the response', `HTTP/1.1 103 Early Hints\r\ncontent-length: 5\r\n\r\n${H}${CL2}`),
  accept('199, then the response', `HTTP/1.1 199 Odd\r\n\r\n${H}${CL2}`),
  accept('103 and final heads of 10 KB each (each head has its own limit)', `HTTP/1.1 103 Early Hints\r\n${sized(10_000)}\r\n`, H + sized(10_000) + CL2),
  refuse('103 head over the limit', `HTTP/1.1 103 Early Hints\r\n${sized(limit + 600)}\r\n${H}${CL2}`),
  refuse('unsolicited 100 Continue', `HTTP/1.1 100 Continue\r\n\r\n${H}${CL2}`),
  refuse('unsolicited 101 Switching Protocols', `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n${H}${CL2}`),
  refuse('101 without upgrade headers', `HTTP/1.1 101 Switching Protocols\r\n\r\n${H}${CL2}`),
  // Line endings in the head.
  refuse('bare LF everywhere', 'HTTP/1.1 200 OK\ncontent-length: 2\n\nhi'),
  refuse('bare LF after the status line', `HTTP/1.1 200 OK\n${CL2}`),
  refuse('bare LF after a header', `${H}content-length: 2\nx-a: b\r\n\r\nhi`),
  refuse('bare LF as the blank line', `${H}content-length: 2\r\n\nhi`),
  refuse('bare CR inside the head', `${H}content-length: 2\rx-a: b\r\n\r\nhi`),
  // Header lines.
  accept('header names in any case, repeated, values with trailing tabs and spaces', `${H}X-Mixed-Case: v\t \r\nx-mixed-case: w\r\nSERVER: uvicorn\r\nDate: Wed, 02 Dec 2026 00:00:00 GMT\r\nAge: 1\r\nx-Zone: z\r\nx-all-space: \t \r\n${CL2}`),
  accept('header values: tab inside, trailing spaces, tab before, no space, empty, latin1', `${H}x-a: b\tc  \r\nx-b:\t b\r\nx-c:d\r\nx-e:\r\nx-f: caf\xe9\r\n${CL2}`),
  refuse('obsolete line folding (space)', `${H}x-a: b\r\n c\r\n${CL2}`),
  refuse('obsolete line folding (tab)', `${H}x-a: b\r\n\tc\r\n${CL2}`),
  refuse('whitespace before the first header', `${H} x-a: b\r\n${CL2}`),
  refuse('space before the colon', `${H}content-length : 2\r\n\r\nhi`),
  refuse('no colon', `${H}content-length 2\r\n\r\nhi`),
  refuse('a name alone', `${H}x-a\r\n${CL2}`),
  refuse('empty name', `${H}: v\r\n${CL2}`),
  refuse('a non-token character in a name', `${H}x(a): 1\r\n${CL2}`),
  refuse('UTF-8 in a name', `${H}x-\xc3\xa9: 1\r\n${CL2}`),
  refuse('NUL in a value', `${H}x-a: b\0c\r\n${CL2}`),
  refuse('a control character in a value', `${H}x-a: b\x01c\r\n${CL2}`),
  refuse('DEL in a value', `${H}x-a: b\x7fc\r\n${CL2}`),
  // The header limit: names and values, however many reads the head takes.
  accept('head one byte under the limit, one header', headOf(limit - 1)),
  refuse('head at the limit, one header', headOf(limit)),
  accept('head one byte under the limit, 1,000 headers', many(limit - 1)),
  refuse('head at the limit, 1,000 headers', many(limit)),
  refuse('head over the limit, one read', H + sized(20_000) + CL2),
  refuse('head over the limit in two reads, the blank line in the second', H + sized(10_000), sized(10_000) + CL2),
  refuse('head over the limit in many reads', H, sized(6000), sized(6000), sized(6000), CL2),
  accept('head under the limit in many reads', H, sized(5000), sized(5000), sized(5000), CL2),
  // Content-Length.
  accept('Content-Length with leading zeros', `${H}content-length: 002\r\n\r\nhi`),
  accept('Content-Length after spaces', `${H}content-length:    2\r\n\r\nhi`),
  refuse('duplicate Content-Length, same value', `${H}content-length: 2\r\ncontent-length: 2\r\n\r\nhi`),
  refuse('duplicate Content-Length, different values', `${H}content-length: 2\r\ncontent-length: 3\r\n\r\nhi`),
  refuse('duplicate Content-Length: 0', `${H}content-length: 0\r\ncontent-length: 0\r\n\r\n`),
  refuse('Content-Length list', `${H}content-length: 2, 2\r\n\r\nhi`),
  refuse('Content-Length with a sign', `${H}content-length: +2\r\n\r\nhi`),
  refuse('negative Content-Length', `${H}content-length: -1\r\n\r\nhi`),
  refuse('Content-Length with a trailing space', `${H}content-length: 2 \r\n\r\nhi`),
  refuse('empty Content-Length', `${H}content-length: \r\n\r\nhi`),
  refuse('Content-Length of 23 digits', `${H}content-length: 99999999999999999999999\r\n\r\nhi`),
  refuse('body shorter than its Content-Length', `${H}content-length: 5\r\n\r\nhi`),
  // Transfer-Encoding.
  accept('Transfer-Encoding: CHUNKED', `${H}transfer-encoding: CHUNKED\r\n\r\n2\r\nhi\r\n0\r\n\r\n`),
  accept('Transfer-Encoding: gzip, chunked', `${H}transfer-encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`),
  accept('Transfer-Encoding twice', `${H}transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`),
  accept('Transfer-Encoding not ending in chunked: body until close', `${H}transfer-encoding: chunked, gzip\r\n\r\nhi`),
  accept('Transfer-Encoding: gzip alone: body until close', `${H}transfer-encoding: gzip\r\n\r\nhi`),
  refuse('Transfer-Encoding then Content-Length', `${H}transfer-encoding: chunked\r\ncontent-length: 2\r\n\r\n2\r\nhi\r\n0\r\n\r\n`),
  refuse('Content-Length then Transfer-Encoding', `${H}content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`),
  refuse('Transfer-Encoding: chunked with Content-Length: 0', `${H}transfer-encoding: chunked\r\ncontent-length: 0\r\n\r\n0\r\n\r\n`),
  refuse('Transfer-Encoding: identity with Content-Length', `${H}transfer-encoding: identity\r\ncontent-length: 2\r\n\r\nhi`),
  refuse('204 with Transfer-Encoding and Content-Length', 'HTTP/1.1 204 No Content\r\ntransfer-encoding: chunked\r\ncontent-length: 0\r\n\r\n'),
  // Chunk sizes.
  accept('upper-case hex chunk size', chunked('A\r\n0123456789\r\n0\r\n\r\n')),
  accept('16-digit chunk size with leading zeros', chunked('0000000000000002\r\nhi\r\n0\r\n\r\n')),
  refuse('chunk size not hex', chunked('zz\r\nhi\r\n0\r\n\r\n')),
  refuse('empty chunk size', chunked('\r\nhi\r\n0\r\n\r\n')),
  refuse('negative chunk size', chunked('-2\r\nhi\r\n0\r\n\r\n')),
  refuse('0x prefix', chunked('0x2\r\nhi\r\n0\r\n\r\n')),
  refuse('space after the chunk size', chunked('2 \r\nhi\r\n0\r\n\r\n')),
  refuse('space before the chunk size', chunked(' 2\r\nhi\r\n0\r\n\r\n')),
  refuse('space before a chunk extension', chunked('2 ;a=b\r\nhi\r\n0\r\n\r\n')),
  refuse('chunk size overflowing 64 bits', chunked('10000000000000000\r\nhi\r\n0\r\n\r\n')),
  refuse('18-digit chunk size', chunked('ffffffffffffffffff\r\nhi\r\n0\r\n\r\n')),
  refuse('chunk size of 2^53 (never sent in full)', chunked('20000000000000\r\nhi')),
  refuse('chunk size of 2^64 - 1 (never sent in full)', chunked('ffffffffffffffff\r\nhi')),
  refuse('bare LF after the chunk size', chunked('2\nhi\r\n0\r\n\r\n')),
  refuse('bare LF after every chunk line', chunked('2\nhi\n0\n\n')),
  refuse('CR without LF after the chunk size', chunked('2\rhi\r\n0\r\n\r\n')),
  refuse('bare LF after the last chunk size', chunked('2\r\nhi\r\n0\n\r\n')),
  refuse('bare LF after chunk data', chunked('2\r\nhi\n0\r\n\r\n')),
  refuse('chunk data longer than its size', chunked('2\r\nhiX\r\n0\r\n\r\n')),
  refuse('bare LF as the final blank line', chunked('2\r\nhi\r\n0\r\n\n')),
  refuse('chunked body cut short (no last chunk)', chunked('2\r\nhi\r\n')),
  // Chunk extensions.
  accept('extension name=value', chunked('2;a=b\r\nhi\r\n0\r\n\r\n')),
  accept('quoted extension value with a space', chunked('2;a="b c"\r\nhi\r\n0\r\n\r\n')),
  accept('quoted extension value with a quoted pair', chunked('2;a="b\\"c"\r\nhi\r\n0\r\n\r\n')),
  accept('extension with an empty name', chunked('2;=b\r\nhi\r\n0\r\n\r\n')),
  accept('several extensions, an empty value, a doubled semicolon', chunked('2;a=b;c;;d=\r\nhi\r\n0\r\n\r\n')),
  accept('quote inside a token value', chunked('2;a=b"c"\r\nhi\r\n0\r\n\r\n')),
  accept('extension on the last chunk', chunked('2\r\nhi\r\n0;x=1\r\n\r\n')),
  refuse('semicolon alone', chunked('2;\r\nhi\r\n0\r\n\r\n')),
  refuse('space inside an extension', chunked('2;a b\r\nhi\r\n0\r\n\r\n')),
  refuse('space after the semicolon', chunked('2; a=b\r\nhi\r\n0\r\n\r\n')),
  refuse('bare LF after an extension', chunked('2;a\nhi\r\n0\r\n\r\n')),
  refuse('control character in an extension value', chunked('2;a=\x01\r\nhi\r\n0\r\n\r\n')),
  refuse('CR inside a quoted extension value', chunked('2;a="b\rc"\r\nhi\r\n0\r\n\r\n')),
  refuse('characters after a quoted extension value', chunked('2;a="b"c\r\nhi\r\n0\r\n\r\n')),
  // Trailers.
  refuse('bare LF after a trailer', chunked('2\r\nhi\r\n0\r\nx-t: 1\n\r\n')),
  refuse('trailer name with a space', chunked('2\r\nhi\r\n0\r\nx t: 1\r\n\r\n')),
  refuse('trailer without a colon', chunked('2\r\nhi\r\n0\r\nxt\r\n\r\n')),
  refuse('folded trailer', chunked('2\r\nhi\r\n0\r\nx-t: 1\r\n 2\r\n\r\n')),
  refuse('Content-Length as a trailer', chunked('2\r\nhi\r\n0\r\ncontent-length: 5\r\n\r\n')),
  refuse('trailers over the header limit', chunked(`2\r\nhi\r\n0\r\n${sized(20_000)}\r\n`)),
]

interface Outcome {
  status: number | null
  /** The final response's headers as the handler got them (a null-prototype object copied to a plain one). */
  headers: Record<string, unknown>
  body: string
  error: string | null
}

let server: Server
let origin = ''
const sockets = new Set<Socket>()

beforeAll(async () => {
  // Answers `POST /<case index>` with that case's pieces, then closes the connection.
  server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    socket.setNoDelay(true)
    onRequests(socket, async (head) => {
      const index = Number(/^POST \/(\d+) /.exec(head)?.[1])
      const pieces = cases[index]?.wire ?? ['HTTP/1.1 500 No Such Case\r\ncontent-length: 0\r\n\r\n']
      for (const [i, piece] of pieces.entries()) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 15))
        if (socket.destroyed) return
        socket.write(Buffer.from(piece, 'latin1'))
      }
      socket.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await new Promise((resolve) => server.close(resolve))
})

/** One request through `dispatcher`, with a plain dispatch handler collecting what it saw. */
function send(dispatcher: Dispatcher | Http1Pool, index: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { status: null, headers: {}, body: '', error: null }
    const timer = setTimeout(() => {
      out.error = 'no outcome within 5 s'
      resolve(out)
    }, 5000)
    const done = (): void => {
      clearTimeout(timer)
      resolve(out)
    }
    dispatcher.dispatch({ path: `/${index}`, method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }, {
      onRequestStart: () => undefined,
      onResponseStart: (_c, status, headers) => {
        out.status = status
        out.headers = { ...headers }
      },
      onResponseData: (_c, chunk) => {
        out.body += chunk.toString('latin1')
      },
      onResponseEnd: done,
      onResponseError: (_c, error) => {
        out.error = `${(error as { code?: string }).code ?? error.name}: ${error.message}`
        done()
      },
    })
  })
}

async function overBoth(index: number): Promise<{ http1: Outcome; undici: Outcome }> {
  const undici = new Pool(origin, { connections: 1 })
  const http1 = new Http1Pool(origin, { connections: 1, keepAliveTimeoutMs: 5000, connectTimeoutMs: 5000 })
  try {
    return { undici: await send(undici, index), http1: await send(http1, index) }
  } finally {
    await undici.destroy()
    await Promise.race([http1.close(), new Promise((resolve) => setTimeout(resolve, 500))])
  }
}

const verdict = (o: Outcome): string => (o.error === null ? 'accept' : 'refuse')

describe('Http1Pool and undici agree on framing and header limits', () => {
  test.each(cases.map((c, i) => [c.name, i] as const))('%s', async (_name, index) => {
    const c = cases[index] as Case
    const { http1, undici } = await overBoth(index)
    expect(verdict(undici), `undici: ${undici.error ?? 'accepted'}`).toBe(c.undici)
    expect(verdict(http1), `Http1Pool: ${http1.error ?? 'accepted'}`).toBe(c.undici)
    if (c.undici === 'accept') {
      expect(http1.body).toBe(undici.body)
      expect(http1.status).toBe(undici.status)
      expect(http1.headers).toEqual(undici.headers)
    }
  })
})

/** The reader's verdict on `wire` cut into pieces at `cuts`; the connection closes after the last one. */
function readerVerdict(wire: Buffer, cuts: number[]): { verdict: string; body: string } {
  let body = ''
  let complete = false
  const reader = new ResponseReader({
    onHead: () => undefined,
    onBody: (buf, start, end) => {
      body += buf.toString('latin1', start, end)
    },
    onComplete: () => {
      complete = true
    },
  })
  reader.expect()
  const points = [...new Set([0, ...cuts, wire.length])].filter((p) => p <= wire.length).sort((a, b) => a - b)
  try {
    for (let i = 0; i + 1 < points.length && !complete; i++) reader.feed(wire, points[i] as number, points[i + 1] as number)
  } catch {
    return { verdict: 'refuse', body }
  }
  return { verdict: complete || reader.end() ? 'accept' : 'refuse', body }
}

describe('ResponseReader: the verdict does not depend on how the bytes are split into reads', () => {
  test.each(cases.map((c, i) => [c.name, i] as const))('%s', (_name, index) => {
    const c = cases[index] as Case
    const wire = Buffer.from(c.wire.join(''), 'latin1')
    const whole = readerVerdict(wire, [])
    expect(whole.verdict).toBe(c.undici)
    const cutsAt = wire.length <= 400 ? fc.array(fc.nat(wire.length), { maxLength: 6 }) : fc.array(fc.nat(wire.length), { minLength: 1, maxLength: 3 })
    fc.assert(fc.property(cutsAt, (cuts) => {
      const split = readerVerdict(wire, cuts)
      expect(split.verdict).toBe(whole.verdict)
      if (whole.verdict === 'accept') expect(split.body).toBe(whole.body)
    }), { numRuns: wire.length <= 400 ? 200 : 20, seed: 7 })
  })

  test('every single-cut split of every small case', () => {
    for (const c of cases) {
      const wire = Buffer.from(c.wire.join(''), 'latin1')
      if (wire.length > 400) continue
      const whole = readerVerdict(wire, [])
      for (let cut = 1; cut < wire.length; cut++) expect(readerVerdict(wire, [cut]).verdict, `${c.name} cut at ${cut}`).toBe(whole.verdict)
    }
  })
})
