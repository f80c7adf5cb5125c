import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ResponseFormatError, ResponseReader } from '../../src/client/http1Response.ts'
import { v8Gc } from '../../src/client/precision/heap.ts'

interface Read {
  status: number | null
  headers: Record<string, string | string[]>
  body: string
  completions: boolean[]
}

/** Feeds `wire` in pieces cut at `cuts`, each piece inside a larger buffer (bytes around it must not be read). */
function read(wire: string, cuts: number[] = [], noBody = false): Read & { stoppedAt: number[] } {
  const out: Read = { status: null, headers: {}, body: '', completions: [] }
  const reader = new ResponseReader({
    onHead: (status, _text, headers) => {
      out.status = status
      out.headers = headers
    },
    onBody: (buf, start, end) => {
      out.body += buf.toString('latin1', start, end)
    },
    onComplete: (reusable) => out.completions.push(reusable),
  })
  reader.expect(noBody)
  const bytes = Buffer.from(wire, 'latin1')
  const points = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort((a, b) => a - b)
  const stoppedAt: number[] = []
  for (let i = 0; i + 1 < points.length; i++) {
    const piece = bytes.subarray(points[i], points[i + 1])
    const before = Buffer.from('\r\n0\r\n\r\nXX')
    const framed = Buffer.concat([before, piece, Buffer.from('\r\n\r\n0\r\n')])
    stoppedAt.push(reader.feed(framed, before.length, before.length + piece.length) - before.length)
  }
  if (reader.busy) reader.end()
  return { ...out, stoppedAt }
}

const chunked = (parts: string[], trailer = ''): string =>
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n' +
  parts.map((p) => `${Buffer.byteLength(p, 'latin1').toString(16)}\r\n${p}\r\n`).join('') + `0\r\n${trailer}\r\n`

describe('ResponseReader', () => {
  test('a chunked body comes out whole however the bytes are split, and the connection stays reusable', () => {
    fc.assert(fc.property(
      fc.array(fc.string({ minLength: 1, maxLength: 40, unit: 'binary-ascii' }), { maxLength: 8 }),
      fc.array(fc.nat(400), { maxLength: 12 }),
      fc.constantFrom('', 'x-checksum: 1\r\n'),
      (parts, cuts, trailer) => {
        const r = read(chunked(parts, trailer), cuts)
        expect(r.status).toBe(200)
        expect(r.body).toBe(parts.join(''))
        expect(r.completions).toEqual([true])
      },
    ), { numRuns: 300, seed: 3 })
  })

  test('Content-Length, chunk extensions, lower-case and repeated headers', () => {
    const r = read('HTTP/1.1 201 Created\r\ncontent-length: 5\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nhello', [20, 60])
    expect(r).toMatchObject({ status: 201, body: 'hello', completions: [true] })
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    expect(read('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;name=value\r\nabc\r\n0\r\n\r\n').body).toBe('abc')
  })

  test('any header line: refused, or read as the rule says (name lower-cased, leading whitespace dropped, the rest kept)', () => {
    // The rule is undici's (test/conformance/framing.test.ts compares the two on named cases); here it is
    // checked on random lines, the parser's byte loops against the expressions they replaced.
    const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
    const VCHAR = /^[\t\x20-\x7e\x80-\xff]*$/
    const byte = fc.integer({ min: 0, max: 255 }).filter((b) => b !== 0x0a && b !== 0x0d).map((b) => String.fromCharCode(b))
    const text = (chars: fc.Arbitrary<string>) => fc.array(chars, { maxLength: 12 }).map((a) => a.join(''))
    const nameChar = fc.oneof(fc.constantFrom(...'aZzA-_.~!Xx09'), byte.filter((c) => c !== ':'))
    const valueChar = fc.oneof(fc.constantFrom(' ', '\t', 'a', 'Z', '\xe9', '\x7f', '\x00'), byte)
    fc.assert(fc.property(text(nameChar), text(valueChar), (name, value) => {
      const wire = `HTTP/1.1 200 OK\r\n${name}:${value}\r\ncontent-length: 0\r\n\r\n`
      const trimmed = value.replace(/^[\t ]+/, '')
      const valid = TCHAR.test(name) && VCHAR.test(trimmed) && name.toLowerCase() !== 'content-length'
      let headers: Record<string, string | string[]> | null = null
      try {
        headers = read(wire).headers
      } catch (error) {
        expect(error).toBeInstanceOf(ResponseFormatError)
      }
      if (!valid) expect(headers).toBeNull()
      else expect(headers?.[name.toLowerCase()]).toBe(trimmed)
    }), { numRuns: 2000, seed: 5 })
  })

  test('a body without length or chunking ends with the connection, which is then not reused', () => {
    const r = read('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: a\n\n', [30])
    expect(r).toMatchObject({ body: 'data: a\n\n', completions: [false] })
  })

  test('Connection: close and HTTP/1.0 without keep-alive make the connection single-use', () => {
    expect(read('HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 1\r\n\r\nx').completions).toEqual([false])
    expect(read('HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\nx').completions).toEqual([false])
    expect(read('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\ncontent-length: 1\r\n\r\nx').completions).toEqual([true])
  })

  test('an interim 103 Early Hints is skipped; 204 and HEAD responses have no body', () => {
    // As undici: 100 Continue (never asked for) and LF-only heads are refused (test/conformance/framing.test.ts).
    expect(read('HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok', [5, 25])).toMatchObject({ status: 200, body: 'ok' })
    expect(read('HTTP/1.1 204 No Content\r\n\r\n')).toMatchObject({ status: 204, body: '', completions: [true] })
    expect(read('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n', [], true)).toMatchObject({ body: '', completions: [true] })
  })

  test('bytes after the end of a response are left unread', () => {
    const wire = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA'
    const r = read(wire)
    expect(r.body).toBe('ok')
    expect(r.stoppedAt).toEqual([wire.length - 'EXTRA'.length])
  })

  test('a response cut short is reported by end(), a complete one is not', () => {
    const reader = new ResponseReader({ onHead: () => undefined, onBody: () => undefined, onComplete: () => undefined })
    reader.expect()
    const partial = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc')
    reader.feed(partial, 0, partial.length)
    expect(reader.end()).toBe(false)
  })

  test('malformed responses throw ResponseFormatError naming the problem', () => {
    const bad = (wire: string): unknown => {
      try {
        read(wire)
      } catch (error) {
        return error
      }
      return null
    }
    expect(bad('SSH-2.0-OpenSSH\r\n\r\n')).toBeInstanceOf(ResponseFormatError)
    expect(String(bad('SSH-2.0-OpenSSH\r\n\r\n'))).toMatch(/invalid status line "SSH-2.0-OpenSSH"/)
    expect(String(bad('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'))).toMatch(/invalid chunk size/)
    expect(String(bad('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n'))).toMatch(/longer than its size/)
    expect(String(bad('HTTP/1.1 200 OK\r\ncontent-length: 1, 2\r\n\r\nx'))).toMatch(/invalid content-length/)
    expect(String(bad(`HTTP/1.1 200 OK\r\nx: ${'a'.repeat(20_000)}`))).toMatch(/response head longer than/)
  })
})

test('the reader lets go of a head once it has been handed on: its strings do not live as long as the body', async () => {
  const gc = v8Gc()
  if (gc === undefined) throw new Error('V8 refused its gc function here')
  let seen: WeakRef<object> | undefined
  const reader = new ResponseReader({
    onHead: (_status, _text, headers) => void (seen = new WeakRef(headers)),
    onBody: () => undefined,
    onComplete: () => undefined,
  })
  reader.expect()
  const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nServer: uvicorn\r\nDate: Sun, 06 Dec 2026 20:30:00 GMT\r\nTransfer-Encoding: chunked\r\n\r\n'
  const first = 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n'
  const bytes = Buffer.from(`${head}${first.length.toString(16)}\r\n${first}\r\n`, 'latin1')
  reader.feed(bytes, 0, bytes.length)
  // The stream goes on (the body is open), and a WeakRef's target lives until the job that made it ends.
  expect(reader.busy).toBe(true)
  await new Promise((resolve) => setImmediate(resolve))
  gc()
  expect(seen).toBeDefined()
  expect(seen?.deref()).toBeUndefined()
})
