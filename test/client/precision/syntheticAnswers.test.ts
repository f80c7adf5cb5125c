import { describe, expect, test } from 'vitest'
import { SERVER_STYLES, syntheticResponse } from '../../../src/client/precision/syntheticAnswers.ts'
import { ResponseReader } from '../../../src/client/http1Response.ts'
import { decodeChunk } from '../../../src/client/openai.ts'

describe('synthetic answers in server styles', () => {
  const bodyOf = (packets: Buffer[]): string => {
    let body = ''
    let complete = false
    const reader = new ResponseReader({
      onHead: () => {},
      onBody: (buf, start, end) => { body += buf.toString('utf8', start, end) },
      onComplete: () => { complete = true },
    })
    reader.expect()
    for (const p of packets) reader.feed(p, 0, p.length)
    expect(complete).toBe(true)
    return body
  }

  test.each(SERVER_STYLES.flatMap((style, i) => (['chat', 'completions'] as const).flatMap((kind) => [true, false].map((usage) => ({ i, style, kind, usage })))))(
    'style $i, $kind, usage $usage: framed right, every event JSON, the answer and its usage as sent',
    ({ style, kind, usage }) => {
      const events = [...bodyOf(syntheticResponse(kind, 32, usage, style)).matchAll(/data: (.*)\n\n/g)].map((m) => m[1] as string)
      expect(events.at(-1)).toBe('[DONE]')
      const decoded = events.slice(0, -1).map((e) => decodeChunk(e))
      expect(decoded.map((d) => d.text).join('')).toBe(Array.from({ length: 32 }, (_, i) => (i + 1) % 16 === 0 ? ' "tok"\n' : ' tok').join(''))
      expect(decoded.some((d) => d.finishReason === 'length')).toBe(true)
      expect(decoded.at(-1)?.completionTokens ?? null).toBe(usage ? 32 : null)
    },
  )
})
