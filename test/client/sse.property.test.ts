import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { SseParser } from '../../src/client/sse.ts'

function parse(chunks: Uint8Array[]): string[] {
  const events: string[] = []
  const parser = new SseParser((data) => events.push(data))
  for (const c of chunks) parser.push(c, 0)
  parser.end(0)
  return events
}

/**
 * The same bytes fed as ranges of one buffer that starts with foreign bytes (LF CR), as Http1Pool feeds
 * the parts of a read between HTTP chunk framing.
 */
function parseRanges(bytes: Uint8Array, offsets: number[]): string[] {
  const prefix = 2
  const buf = Buffer.concat([Buffer.from('\n\r'), bytes])
  const events: string[] = []
  const parser = new SseParser((data) => events.push(data))
  let prev = 0
  for (const part of cut(bytes, offsets)) {
    parser.pushRange(buf, prefix + prev, prefix + prev + part.length, 0)
    prev += part.length
  }
  parser.end(0)
  return events
}

/** Cuts `bytes` at the given (sorted, de-duplicated) offsets. */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let prev = 0
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p))
    prev = p
  }
  return out
}

// Event payloads: any text without line terminators (multi-byte characters included), one or more data lines.
const line = fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ' '))
const event = fc.record({
  lines: fc.array(line, { minLength: 1, maxLength: 3 }),
  comment: fc.boolean(),
  eol: fc.constantFrom('\n', '\r\n', '\r'),
})

describe('SseParser properties', () => {
  test('any split of a valid stream yields the same events as the unsplit stream', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (events, offsets) => {
        const text = events.map((e) => (e.comment ? `: keep-alive${e.eol}` : '') + e.lines.map((l) => `data: ${l}${e.eol}`).join('') + e.eol).join('')
        const bytes = new TextEncoder().encode(text)
        const expected = events.map((e) => e.lines.join('\n'))
        expect(parse([bytes])).toEqual(expected)
        expect(parse(cut(bytes, offsets))).toEqual(expected)
        expect(parseRanges(bytes, offsets)).toEqual(expected)
      }),
      { numRuns: 300, seed: 42 },
    )
  })

  test('random bytes never throw out of the parser', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        expect(() => parse(chunks)).not.toThrow()
      }),
      { numRuns: 500, seed: 7 },
    )
  })
})
