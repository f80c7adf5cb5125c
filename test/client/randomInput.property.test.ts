/**
 * Hostile input as properties: random bytes from a server, and random dataset files. Whatever arrives,
 * a request settles with a record (never throws, never hangs), and a dataset loads or is refused with an
 * InputError (never another exception).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { openEndpoint, requestContext, sendRequest } from '../../src/client/index.ts'
import { loadDataset } from '../../src/data/index.ts'
import { isInputError } from '../../src/errors.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import { onRequests } from '../helpers/rawRequests.ts'

let answer: Buffer[] = []
const sockets = new Set<Socket>()
const server = createServer((socket) => {
  sockets.add(socket)
  socket.once('close', () => sockets.delete(socket))
  socket.on('error', () => undefined)
  onRequests(socket, () => {
    for (const piece of answer) socket.write(piece)
    socket.end()
  })
})
const dir = mkdtempSync(join(tmpdir(), 'fluxperf-random-'))
let url = ''
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise((r) => server.close(r))
  rmSync(dir, { recursive: true, force: true })
})

const head = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n'
/** Random bytes, or a valid head followed by random chunk framing and SSE-looking text. */
const answers = fc.oneof(
  fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 4 }).map((parts) => parts.map((p) => Buffer.from(p))),
  fc.array(fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('data: [DONE]\n\n', 'data: {"choices":[{"delta":{"content":"x"}}]}\n\n', '0\r\n\r\n', '\r\n')), { maxLength: 6 })
    .map((parts) => [Buffer.from(head), ...parts.map((p) => Buffer.from(`${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`))]),
)

test('any bytes from a server: the request settles with a record, and nothing throws', { timeout: 120_000 }, async () => {
  const tokenizer = await getTokenizer()
  await fc.assert(fc.asyncProperty(answers, async (pieces) => {
    answer = pieces
    const endpoint = openEndpoint({ url, proxy: false, timeoutMs: 5_000 })
    try {
      const ctx = requestContext(endpoint, { model: 'm' }, tokenizer)
      const r = await sendRequest(ctx, [{ role: 'user', content: 'q' }], { id: '1', index: 0, sessionId: 's', turnIndex: 0, round: 1, concurrency: 1 })
      expect(typeof r.ok).toBe('boolean')
      if (!r.ok) expect(r.error?.kind).toBeTypeOf('string')
    } finally {
      await endpoint.close()
    }
  }), { numRuns: 150 })
})

test('any dataset file: it loads, or is refused with an InputError', { timeout: 120_000 }, async () => {
  const lines = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.record({ text: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }).map((v) => JSON.stringify(v)),
    fc.record({ session_id: fc.oneof(fc.string(), fc.double()), user_messages: fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
  )
  const files = fc.oneof(
    fc.array(lines, { maxLength: 8 }).map((ls) => Buffer.from(ls.join('\n'))),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  )
  let n = 0
  await fc.assert(fc.asyncProperty(files, fc.constantFrom('.jsonl', '.json'), async (bytes, ext) => {
    const path = join(dir, `d${n++}${ext}`)
    writeFileSync(path, bytes)
    try {
      const rows = await loadDataset(path)
      expect(Array.isArray(rows)).toBe(true)
    } catch (error) {
      if (!isInputError(error)) throw error
    }
  }), { numRuns: 300 })
})
