import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { contextFor, send } from '../helpers/client.ts'
import { startMockServer } from '../../src/mock/index.ts'
import { entryJson, requestTexts, writtenFieldByField } from '../../src/report/json.ts'
import { JsonlWriter, RequestTexts, requestEntry, roundHead, roundJson, RoundFileWriter } from '../../src/report/index.ts'
import type { RequestRecord } from '../../src/types.ts'
import { dualRoundRun, METRICS, requestRecord, roundResult } from './fixtures.ts'

const STATS = ['avg', 'p50', 'p90', 'p95', 'p99', 'min', 'max', 'stddev'] as const

describe('concurrency_{c}_round_{r}.json', () => {
  const run = dualRoundRun([], { config: { samples: 10, seed: 7, maxOutputTokens: 32 } })
  const round = roundResult({ round: 2 })
  const records = [requestRecord(), requestRecord({ id: 'c4-r2-1', index: 1, ok: false, ttftMs: null, tpotMs: null, status: null, error: { kind: 'timeout', message: 'no answer' } })]
  const text = roundJson(run, round, records)
  const doc = JSON.parse(text)

  test('two-space JSON ending in a newline: configuration, summary, then requests one compact entry a line', () => {
    expect(text.startsWith('{\n  "configuration": {\n    "samples": 10,\n')).toBe(true)
    expect(text.endsWith('\n  ]\n}\n')).toBe(true)
    expect(Object.keys(doc)).toEqual(['configuration', 'summary', 'requests'])
    // Each entry on its own line, compact: a reader that splits lines finds one entry per line.
    const lines = text.slice(text.indexOf('"requests": [') + 14, text.lastIndexOf('\n  ]')).split(',\n')
    expect(lines.map((l) => JSON.parse(l.trim()))).toEqual(records.map(requestEntry))
  })

  test('configuration: the run\'s settings, then endpoint, model, concurrency, num_samples, round and the run\'s seed', () => {
    expect(doc.configuration).toEqual({ samples: 10, seed: 42, maxOutputTokens: 32, endpoint: run.endpoint, model: 'test-model', concurrency: 4, num_samples: 10, round: 2 })
    expect(Object.keys(doc.configuration)).toEqual(['samples', 'seed', 'maxOutputTokens', 'endpoint', 'model', 'concurrency', 'num_samples', 'round'])
  })

  test('summary: the seed\'s flat keys in order, `itl` being TPOT, then fluxperf\'s whole round', () => {
    const flat = (key: string, metric: 'ttft' | 'tpot' | 'latency') => STATS.map((s) => [`${s}_${key}`, METRICS[metric][s]] as const)
    expect(Object.entries(doc.summary)).toEqual([
      ['total_requests', 10],
      ['successful_requests', 9],
      ['failed_requests', 1],
      ['duration_s', 2.5],
      ...flat('ttft', 'ttft'),
      ...flat('itl', 'tpot'),
      ...flat('latency', 'latency'),
      ['request_throughput', 3.6],
      ['token_throughput', 115.2],
      ['round', round],
    ])
    expect(roundHead(run, round)).toEqual({ configuration: doc.configuration, summary: doc.summary })
  })

  test('a metric the round lacks has no flat keys', () => {
    const { ttft } = METRICS
    const summary = roundHead(run, roundResult({ metrics: { ttft } })).summary
    expect(Object.keys(summary).filter((k) => /_(ttft|itl|latency)$/.test(k))).toEqual(STATS.map((s) => `${s}_ttft`))
  })

  test('one entry per request, in order', () => {
    expect(doc.requests.map((r: { index: number }) => r.index)).toEqual([0, 1])
    expect(doc.requests[1]).toMatchObject({ ttft: null, itl: null, success: false, error: { kind: 'timeout', message: 'no answer' } })
  })
})

describe('a request entry', () => {
  test('the seed\'s fields first (itl = TPOT), then the record without its text or preview', () => {
    const r = requestRecord({ tpotMs: 12.5, chunkOffsetsMs: [100, 105] })
    const entry = requestEntry(r)
    expect(Object.keys(entry).slice(0, 8)).toEqual(['index', 'prompt', 'ttft', 'itl', 'latency', 'input_tokens', 'output_tokens', 'success'])
    expect(entry).toMatchObject({ index: 0, prompt: 'What is a prefix cache?', ttft: 100, itl: 12.5, latency: 400, input_tokens: 120, output_tokens: 4, success: true })
    expect(entry).not.toHaveProperty('outputText')
    expect(entry).not.toHaveProperty('promptPreview')
    const { outputText: _t, promptPreview: _p, index: _i, ...rest } = r
    expect(Object.keys(entry).slice(8)).toEqual(Object.keys(rest))
    expect(entry['chunkOffsetsMs']).toEqual([100, 105])
  })
})

describe('entryJson: an entry\'s text without the rest and spread', () => {
  // Every optional field a record can carry, values JSON writes in its own ways, and shapes that take the general path.
  const records: [string, RequestRecord][] = [
    ['an ordinary record', requestRecord()],
    ['a failure', requestRecord({ ok: false, ttftMs: null, tpotMs: null, status: null, error: { kind: 'timeout', message: 'no "answer"\n' } })],
    ['every optional field', requestRecord({
      scheduledAt: 1.5, queuedMs: 0.25, ttfatMs: 120, reasoning: { firstMs: 50, timeMs: 70, tokens: 3, tokenSource: 'usage', chunks: 2 }, toolCalls: { count: 2, firstMs: 80 },
      chunkTokens: [1, 2], cachedTokenSource: 'llamacpp_timings', retries: 1, resent: true, usageRejected: true, noDoneMarker: true, streamed: false,
    })],
    ['numbers JSON writes as null or 0', requestRecord({ ttftMs: Number.NaN, tpotMs: Infinity, latencyMs: -0, inputTokens: -Infinity, chunkOffsetsMs: [Number.NaN, 1e21, 5e-7] })],
    ['text JSON escapes', requestRecord({ promptPreview: 'a "quote", a \\ and \u2028 \ud800 \u0007 é', id: '\ud83d\ude00', outputText: '\ud800' })],
    ['a key set to undefined', requestRecord({ scheduledAt: undefined, error: undefined })],
    ['no preview (general path)', requestRecord({ promptPreview: undefined as unknown as string })],
    ['an index that is not a number (general path)', requestRecord({ index: Number.NaN })],
    ['a key of the entry\'s own (general path)', { ...requestRecord(), ttft: 'kept in its place' } as RequestRecord],
    ['a TTFT of another type (general path)', requestRecord({ ttftMs: '5' as unknown as number })],
    ['the keys in another order', Object.assign({ promptPreview: 'p', ok: true }, requestRecord(), { index: 3 })],
  ]
  test.each(records)('%s: the same text as JSON.stringify(requestEntry(r))', (_, r) => {
    expect(entryJson(r)).toBe(JSON.stringify(requestEntry(r)))
  })

  test('a record whose fields are all inherited: the seed\'s fields only, as the rest pattern copies own keys', () => {
    const r = Object.create(requestRecord()) as RequestRecord
    expect(entryJson(r)).toBe(JSON.stringify(requestEntry(r)))
    expect(JSON.parse(entryJson(r))).toEqual({ index: 0, prompt: 'What is a prefix cache?', ttft: 100, itl: 100, latency: 400, input_tokens: 120, output_tokens: 4, success: true })
  })

  test('a minimal record: the seed\'s fields, then the record\'s own', () => {
    const r = { index: 1, promptPreview: 'p', ttftMs: null, tpotMs: null, latencyMs: 2, inputTokens: 3, outputTokens: 4, ok: true } as unknown as RequestRecord
    expect(entryJson(r)).toBe('{"index":1,"prompt":"p","ttft":null,"itl":null,"latency":2,"input_tokens":3,"output_tokens":4,"success":true,"ttftMs":null,"tpotMs":null,"latencyMs":2,"inputTokens":3,"outputTokens":4,"ok":true}')
  })
})

/** A record with the client's keys in toRecord()'s order (`fields` already there keep their place, others follow). */
function clientRecord(fields: Partial<RequestRecord> = {}): RequestRecord {
  const r = requestRecord()
  return {
    id: r.id, index: r.index, sessionId: r.sessionId, turnIndex: r.turnIndex, round: r.round, concurrency: r.concurrency, startedAt: r.startedAt,
    ttftMs: r.ttftMs, ttfatMs: r.ttftMs, latencyMs: r.latencyMs, chunkOffsetsMs: r.chunkOffsetsMs, tpotMs: r.tpotMs, inputTokens: r.inputTokens,
    inputTokenSource: r.inputTokenSource, outputTokens: r.outputTokens, outputTokenSource: r.outputTokenSource, cachedTokens: r.cachedTokens,
    status: r.status, finishReason: r.finishReason, ok: r.ok, outputText: r.outputText, promptPreview: r.promptPreview,
    ...fields,
  }
}

describe('entryJson of a record of the client\'s shape: written field by field', () => {
  const fieldByField: [string, RequestRecord][] = [
    ['an ordinary record', clientRecord()],
    ['a failure', clientRecord({ ok: false, ttftMs: null, ttfatMs: null, tpotMs: null, status: null, finishReason: null, error: { kind: 'timeout', message: 'no "answer"\n' } })],
    ['every optional field', clientRecord({
      scheduledAt: 1.5, queuedMs: 0.25, reasoning: { firstMs: 50, timeMs: 70, tokens: 3, tokenSource: 'usage', chunks: 2 }, toolCalls: { count: 2, firstMs: 80 },
      chunkTokens: [1, 2], cachedTokenSource: 'llamacpp_timings', retries: 1, resent: true, usageRejected: true, noDoneMarker: true, streamed: false,
    })],
    ['a first answer token after the first token', clientRecord({ ttfatMs: 150.25 })],
    ['numbers JSON writes as null or 0', clientRecord({ ttftMs: Number.NaN, ttfatMs: Infinity, tpotMs: Infinity, latencyMs: -0, inputTokens: -Infinity, startedAt: 1e21, chunkOffsetsMs: [Number.NaN, 1e21, 5e-7] })],
    ['text JSON escapes', clientRecord({ promptPreview: 'a "quote", a \\ and \u2028 \ud800 \u0007 é', id: '\ud83d\ude00', sessionId: '\n', finishReason: '"', outputText: '\ud800' })],
    ['optional keys set to undefined', clientRecord({ scheduledAt: undefined, error: undefined })],
    ['an optional field whose toJSON reads its key', clientRecord({ scheduledAt: { toJSON: (key: string) => `at ${key}` } as unknown as number })],
    ['offsets cut short (holes write as null)', clientRecord({ chunkOffsetsMs: Object.assign(new Array<number>(3), { 0: 1.5 }) })],
  ]
  test.each(fieldByField)('%s: the same text as JSON.stringify(requestEntry(r))', (_, r) => {
    expect(writtenFieldByField(r)).toBe(true)
    expect(entryJson(r)).toBe(JSON.stringify(requestEntry(r)))
  })

  const general: [string, RequestRecord][] = [
    ['offsets with a toJSON', clientRecord({ chunkOffsetsMs: Object.assign([1, 2], { toJSON: (key: string) => key }) })],
    ['a key of the entry\'s own after the client\'s', { ...clientRecord(), ttft: 'kept in its place' } as RequestRecord],
    ['a field of another type', clientRecord({ round: '1' as unknown as number })],
    ['no TTFAT key', requestRecord()],
  ]
  test.each(general)('%s: another shape, the general path, the same text', (_, r) => {
    expect(writtenFieldByField(r)).toBe(false)
    expect(entryJson(r)).toBe(JSON.stringify(requestEntry(r)))
  })

  test('a record the client makes has this shape (the fast path is not left for the general one unnoticed)', async () => {
    const mock = await startMockServer({ jitter: 0, itlMs: 1 })
    const { ctx, endpoint } = contextFor(`${mock.url}/v1/chat/completions`)
    try {
      const r = await send(ctx, 'hello')
      expect(r.ok).toBe(true)
      expect(Object.keys(r).slice(0, 22)).toEqual(Object.keys(clientRecord()))
      expect(writtenFieldByField(r)).toBe(true)
      expect(entryJson(r)).toBe(JSON.stringify(requestEntry(r)))
    } finally {
      await endpoint.close()
      await mock.close()
    }
  })
})

describe('requestTexts: a record\'s JSONL line and its entry, formatted once for both', () => {
  // The client's shape (field by field) and the others (general paths), with what the line alone must get right.
  const records: [string, RequestRecord][] = [
    ['an ordinary record', clientRecord()],
    ['a one-token answer (latency and the single offset are the TTFT)', clientRecord({ ttftMs: 3.1145140000003266, ttfatMs: 3.1145140000003266, latencyMs: 3.1145140000003266, chunkOffsetsMs: [3.1145140000003266], tpotMs: null })],
    ['one offset that is not the TTFT', clientRecord({ ttftMs: 5, latencyMs: 5, chunkOffsetsMs: [6] })],
    ['a TTFT that is not a number, with one offset', clientRecord({ ttftMs: Number.NaN, ttfatMs: Number.NaN, latencyMs: Number.NaN, chunkOffsetsMs: [Number.NaN] })],
    ['a failure without a first token', clientRecord({ ok: false, ttftMs: null, ttfatMs: null, tpotMs: null, status: null, finishReason: null, chunkOffsetsMs: [], error: { kind: 'timeout', message: 'no "answer"\n' } })],
    ['every optional field', clientRecord({
      scheduledAt: 1.5, queuedMs: 0.25, reasoning: { firstMs: 50, timeMs: 70, tokens: 3, tokenSource: 'usage', chunks: 2 }, toolCalls: { count: 2, firstMs: 80 },
      chunkTokens: [1, 2], cachedTokenSource: 'llamacpp_timings', retries: 1, resent: true, usageRejected: true, noDoneMarker: true, streamed: false,
    })],
    ['numbers JSON writes as null or 0', clientRecord({ ttftMs: Number.NaN, ttfatMs: Infinity, tpotMs: Infinity, latencyMs: -0, inputTokens: -Infinity, startedAt: 1e21, chunkOffsetsMs: [Number.NaN, 1e21, 5e-7] })],
    ['text JSON escapes', clientRecord({ promptPreview: 'a "quote", a \\ and \u2028 \ud800 \u0007 é', id: '\ud83d\ude00', sessionId: '\n', finishReason: '"', outputText: '\ud800 "out"\n' })],
    ['optional keys set to undefined', clientRecord({ scheduledAt: undefined, error: undefined })],
    ['an optional field whose toJSON reads its key', clientRecord({ scheduledAt: { toJSON: (key: string) => `at ${key}` } as unknown as number })],
    ['no output text (the line leaves the key out)', clientRecord({ outputText: undefined as unknown as string })],
    ['output text that is not a string', clientRecord({ outputText: { toJSON: (key: string) => `text at ${key}` } as unknown as string })],
    ['a record with an inherited toJSON', Object.setPrototypeOf(clientRecord(), { toJSON: () => ({ replaced: true }) }) as RequestRecord],
    ['offsets with a toJSON', clientRecord({ chunkOffsetsMs: Object.assign([1, 2], { toJSON: (key: string) => key }) })],
    ['a key of the entry\'s own after the client\'s', { ...clientRecord(), ttft: 'kept in its place' } as RequestRecord],
    ['a record without the client\'s TTFAT', requestRecord()],
    ['the keys in another order', Object.assign({ promptPreview: 'p', ok: true }, requestRecord(), { index: 3 })],
  ]
  test.each(records)('%s: JSON.stringify(r) and a newline; JSON.stringify(requestEntry(r))', (_, r) => {
    const { line, entry } = requestTexts(r)
    expect(line).toBe(`${JSON.stringify(r)}\n`)
    expect(entry).toBe(JSON.stringify(requestEntry(r)))
    expect(entry).toBe(entryJson(r))
  })

  test('RequestTexts: either file may ask first; the other gets the text made with it, once', () => {
    const texts = new RequestTexts()
    const a = clientRecord({ id: 'a' })
    const b = clientRecord({ id: 'b' })
    const line = texts.line(a)
    const entry = texts.entry(b)
    expect(line).toBe(`${JSON.stringify(a)}\n`)
    expect(entry).toBe(JSON.stringify(requestEntry(b)))
    // Changed after its first text was made, a record's other text is still the one formatted with it: one formatting.
    a.ttftMs = 1
    b.ttftMs = 1
    expect(texts.entry(a)).toBe(entryJson(clientRecord({ id: 'a' })))
    expect(texts.line(b)).toBe(`${JSON.stringify(clientRecord({ id: 'b' }))}\n`)
    // Once handed over, a text is not held: asked again, it is formatted again.
    expect(texts.entry(a)).toBe(entryJson(a))
    expect(texts.line(b)).toBe(`${JSON.stringify(b)}\n`)
  })
})

describe('RoundFileWriter: the round file written as requests end', () => {
  const run = dualRoundRun([], { config: { samples: 10, seed: 7, maxOutputTokens: 32 } })
  const round = roundResult({ round: 1 })

  function written(records: ReturnType<typeof requestRecord>[]): { text: string; left: string[] } {
    const dir = mkdtempSync(join(tmpdir(), 'fluxperf-roundfile-'))
    try {
      const writer = new RoundFileWriter(dir, 4, 1)
      for (const r of records) writer.write(r)
      const text = readFileSync(writer.end(run, round), 'utf8')
      return { text, left: readdirSync(dir) }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  test('the same text as roundJson() of the same records, and no spool left behind', () => {
    // Past one write batch, with text that needs escapes and UTF-8, and a failed request.
    const records = Array.from({ length: 1500 }, (_, i) => requestRecord({ id: `c4-r1-${i}`, index: i, promptPreview: `prompt ${i}: café "quoted"\n` }))
    records.push(requestRecord({ id: 'c4-r1-x', index: 1500, ok: false, ttftMs: null, tpotMs: null, status: null, error: { kind: 'timeout', message: 'no answer' } }))
    const { text, left } = written(records)
    expect(text).toBe(roundJson(run, round, records))
    expect(left).toEqual(['concurrency_4_round_1.json'])
  })

  test('with the request log\'s RequestTexts: the same round file, and the log the records\' JSON lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fluxperf-roundfile-'))
    try {
      const records = Array.from({ length: 1500 }, (_, i) => clientRecord({ id: `c4-r1-${i}`, index: i, promptPreview: `prompt ${i}: café "quoted"\n` }))
      const texts = new RequestTexts()
      const writer = new RoundFileWriter(dir, 4, 1, { texts })
      const log = new JsonlWriter(join(dir, 'requests.jsonl'), (value) => texts.line(value as RequestRecord))
      for (const r of records) {
        log.write(r)
        writer.write(r)
      }
      log.close()
      expect(readFileSync(writer.end(run, round), 'utf8')).toBe(roundJson(run, round, records))
      expect(readFileSync(join(dir, 'requests.jsonl'), 'utf8')).toBe(records.map((r) => `${JSON.stringify(r)}\n`).join(''))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a round without requests has an empty array', () => {
    const { text } = written([])
    expect(text).toBe(roundJson(run, round, []))
    expect(JSON.parse(text).requests).toEqual([])
  })
})
