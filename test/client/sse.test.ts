import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { SseParser } from '../../src/client/sse.ts'

function parseAll(chunks: Uint8Array[]): { data: string; event: string | undefined; at: number }[] {
  const events: { data: string; event: string | undefined; at: number }[] = []
  const parser = new SseParser((data, event, at) => events.push({ data, event, at }))
  chunks.forEach((c, i) => parser.push(c, i))
  parser.end(chunks.length)
  return events
}

const enc = new TextEncoder()
const bytes = (s: string): Uint8Array => enc.encode(s)

/** Splits `b` at every given offset. */
function splitAt(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let prev = 0
  for (const c of [...cuts, b.length]) {
    out.push(b.subarray(prev, c))
    prev = c
  }
  return out
}

describe('SseParser', () => {
  test('dispatches one event per blank-line-terminated block', () => {
    const events = parseAll([bytes('data: a\n\ndata: b\n\ndata: [DONE]\n\n')])
    expect(events.map((e) => e.data)).toEqual(['a', 'b', '[DONE]'])
  })

  test('joins multi-line data with newlines and keeps event names', () => {
    const events = parseAll([bytes('event: delta\ndata: line1\ndata: line2\n\n')])
    expect(events).toEqual([{ data: 'line1\nline2', event: 'delta', at: 0 }])
  })

  test('skips comment and keep-alive lines', () => {
    const events = parseAll([bytes(': ping\n\n:keep-alive\ndata: x\n\n')])
    expect(events.map((e) => e.data)).toEqual(['x'])
  })

  test('accepts CRLF, lone CR, and a missing space after the colon', () => {
    const events = parseAll([bytes('data:a\r\n\r\ndata: b\r\rdata: c\n\n')])
    expect(events.map((e) => e.data)).toEqual(['a', 'b', 'c'])
  })

  test('a CRLF split across chunks is one terminator', () => {
    const events = parseAll([bytes('data: a\r'), bytes('\n\r'), bytes('\ndata: b\r\n\r\n')])
    expect(events.map((e) => e.data)).toEqual(['a', 'b'])
  })

  test('a CRLF split between two ranges of one buffer is one terminator, whatever the buffer starts with', () => {
    const events: string[] = []
    const parser = new SseParser((data) => events.push(data))
    const first = 'data: z\n\ndata: a\r'
    const buf = Buffer.from(`\n${first}\n\r\n`)
    parser.pushRange(buf, 1, 1 + first.length, 0)
    parser.pushRange(buf, 1 + first.length, buf.length, 0)
    expect(events).toEqual(['z', 'a'])
  })

  test('a multi-byte character split across chunks is decoded whole', () => {
    const b = bytes('data: Александр 🚀\n\n')
    for (let cut = 1; cut < b.length; cut++) {
      expect(parseAll(splitAt(b, [cut])).map((e) => e.data)).toEqual(['Александр 🚀'])
    }
  })

  test('stamps an event with the arrival time of the chunk that completed it', () => {
    const events = parseAll([bytes('data: hel'), bytes('lo\n'), bytes('\n')])
    expect(events).toEqual([{ data: 'hello', event: undefined, at: 2 }])
  })

  test('dispatches a final data line left unterminated at end of stream', () => {
    expect(parseAll([bytes('data: a\n\ndata: [DONE]')]).map((e) => e.data)).toEqual(['a', '[DONE]'])
  })

  test('a recorded llama.cpp stream gives the same events for every split point', () => {
    const raw = readFileSync(new URL('../../fixtures/real-sse/llamacpp-b4748-chat-stream.txt', import.meta.url))
    const whole = parseAll([raw]).map((e) => e.data)
    expect(whole.at(-1)).toBe('[DONE]')
    expect(whole.length).toBeGreaterThan(5)
    for (let cut = 1; cut < raw.length; cut += 7) {
      expect(parseAll(splitAt(raw, [cut, Math.min(raw.length, cut + 3)])).map((e) => e.data)).toEqual(whole)
    }
    // Byte by byte.
    expect(parseAll(Array.from(raw, (b) => Uint8Array.of(b))).map((e) => e.data)).toEqual(whole)
  })
})
