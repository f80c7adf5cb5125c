import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import {
  CsvAppender, documentTypesCsv, formatMultiTurnSummary, mergedErrors, MULTI_TURN_REQUEST_COLUMNS, multiTurnRequestRow,
  overallSummary, runSeconds, turnsCsv,
} from '../../src/report/index.ts'
import { multiTurnRun, noSamples, recordedMetrics, requestRecord, roundResult, summary } from './fixtures.ts'

/** Two conversations' worth: 4 first turns (cold), 8 later turns (warm, one failed), speedups 5x / 4x. */
function conversationsRun(): ReturnType<typeof multiTurnRun> {
  const first = roundResult({
    label: 'Turn1', concurrency: 2, total: 4, succeeded: 4, failed: 0, errors: [],
    ...recordedMetrics({ ttft: [100, 200, 300, 400], latency: [500, 600, 700, 800] }),
    cache: { promptTokens: 400, cachedTokens: 0, cachedShare: 0, reportedBy: 4 },
  })
  const later = roundResult({
    label: 'Turns2+', concurrency: 2, round: 2, total: 8, succeeded: 7, failed: 1,
    ...recordedMetrics({ ttft: [20, 30, 40, 50, 60, 70, 80], latency: [300, 310, 320, 330, 340, 350, 360] }),
    cache: { promptTokens: 1400, cachedTokens: 1050, cachedShare: 0.75, reportedBy: 7 },
    errors: [{ kind: 'http_error', count: 1, firstMessage: 'HTTP 500' }],
  })
  return multiTurnRun([first, later], {
    speedups: [
      { concurrency: 2, metric: 'ttft', stat: 'avg', cold: 250, warm: 50, ratio: 5, warmCachedShare: 0.75 },
      { concurrency: 2, metric: 'ttft', stat: 'p50', cold: 200, warm: 50, ratio: 4, warmCachedShare: 0.75 },
    ],
    byTurn: [
      { turn: 1, ttft: summary({ count: 4, avg: 250, p50: 200 }), latency: summary() },
      { turn: 2, ttft: summary({ count: 4, avg: 45.5, p50: 40 }), latency: summary({ avg: 330.5 }) },
      { turn: 3, ttft: noSamples(), latency: noSamples() },
    ],
    byDocumentType: [
      { type: 'code', requests: 8, ttft: summary({ count: 8, avg: 120.25, p50: 60 }), latency: summary({ avg: 480 }) },
      { type: 'text', requests: 4, ttft: noSamples(), latency: noSamples() },
    ],
    conversations: { planned: 4, started: 4, completed: 3, endedByContextLimit: 1 },
  })
}

describe('the multi-turn BENCHMARK SUMMARY (the Python multi-turn tool\'s, 002)', () => {
  test('totals, overall statistics, TTFT by turn, first vs later turns, document types and errors', () => {
    expect(formatMultiTurnSummary(conversationsRun())).toBe(`${'='.repeat(80)}
BENCHMARK SUMMARY
${'='.repeat(80)}

Total time: 12.50s
Total requests: 12
Completed conversations: 3/4
Ended early (context too long, HTTP 400): 1
Requests per second: 0.96

Time to First Token (TTFT):
  Min:         20.00 ms
  Max:        400.00 ms
  Mean:       122.73 ms
  P50:         70.02 ms
  P95:        400.00 ms
  P99:        400.00 ms

Total Request Time:
  Min:        300.00 ms
  Max:        800.00 ms
  Mean:       446.36 ms
  P50:        350.21 ms
  P95:        800.00 ms
  P99:        800.00 ms

TTFT by Turn Number:
  Turn  1:     250.00 ms avg,     200.00 ms p50 (4 requests)
  Turn  2:      45.50 ms avg,      40.00 ms p50 (4 requests)
  Turn  3: n/a (no successful requests)

First Turn vs Subsequent Turns (Prefix Caching Indicator):
  First turn avg:       250.00 ms
  Later turns avg:       50.00 ms
  Speedup ratio:         5.00x   (p50: 4.00x)
  Server-reported cached prompt tokens: first turn 0.0%, later turns 75.0%

Breakdown by Document Type:
  CODE      8 requests   TTFT     120.25 ms avg,      60.00 ms p50   total time     480.00 ms avg
  TEXT      4 requests   n/a (no successful requests)

Errors:
  kind                    count  first message
  http_error                  1  HTTP 500`)
  })

  test('conversations that failed or never started are counted apart', () => {
    const run = multiTurnRun([roundResult()], { conversations: { planned: 6, started: 5, completed: 2, endedByContextLimit: 1 } })
    const text = formatMultiTurnSummary(run)
    expect(text).toContain('\nCompleted conversations: 2/6\nEnded early (context too long, HTTP 400): 1\nFinished with failed turns or interrupted: 2\nNever started (interrupted): 1\n')
  })
})

describe('the overall statistics behind the summary', () => {
  test('count, mean and extremes are exact over the rounds; percentiles come from the merged histograms', () => {
    const s = overallSummary(conversationsRun(), 'ttft')
    expect(s).toMatchObject({ count: 11, min: 20, max: 400 })
    expect(s.avg).toBeCloseTo(1350 / 11, 9)
    expect(s.p50).toBeGreaterThanOrEqual(70)
    expect(s.p50).toBeLessThan(70.1)
  })

  test('runSeconds is finish − start; mergedErrors adds counts by kind, most first', () => {
    expect(runSeconds(conversationsRun())).toBe(12.5)
    const a = roundResult({ errors: [{ kind: 'timeout', count: 1, firstMessage: 'first timeout' }, { kind: 'http_error', count: 1, firstMessage: 'HTTP 500' }] })
    const b = roundResult({ errors: [{ kind: 'http_error', count: 2, firstMessage: 'HTTP 503' }] })
    expect(mergedErrors([a, b])).toEqual([
      { kind: 'http_error', count: 3, firstMessage: 'HTTP 500' },
      { kind: 'timeout', count: 1, firstMessage: 'first timeout' },
    ])
    expect(a.errors[1]?.count).toBe(1)
  })
})

describe('the multi-turn CSV files', () => {
  test('ttft_by_turn.csv: the column order and two decimals; a turn without samples has a 0 count and empty cells', () => {
    expect(turnsCsv(conversationsRun())).toBe(
      'turn,ttft_count,ttft_avg,ttft_p50,ttft_p90,ttft_p95,ttft_p99,ttft_min,ttft_max,latency_avg,latency_p50,latency_p90,latency_p95,latency_p99,latency_min,latency_max\n' +
      '1,4,250.00,200.00,150.00,160.00,190.00,50.00,200.00,100.00,100.00,150.00,160.00,190.00,50.00,200.00\n' +
      '2,4,45.50,40.00,150.00,160.00,190.00,50.00,200.00,330.50,100.00,150.00,160.00,190.00,50.00,200.00\n' +
      '3,0,,,,,,,,,,,,,,\n')
  })

  test('document_types.csv: type and requests before the same statistics', () => {
    expect(documentTypesCsv(conversationsRun())).toBe(
      'type,requests,ttft_count,ttft_avg,ttft_p50,ttft_p90,ttft_p95,ttft_p99,ttft_min,ttft_max,latency_avg,latency_p50,latency_p90,latency_p95,latency_p99,latency_min,latency_max\n' +
      'code,8,8,120.25,60.00,150.00,160.00,190.00,50.00,200.00,480.00,100.00,150.00,160.00,190.00,50.00,200.00\n' +
      'text,4,0,,,,,,,,,,,,,,\n')
  })

  test('requests.csv: a row per request under its columns, the turn 1-based, CSV quoting in the message', () => {
    expect(MULTI_TURN_REQUEST_COLUMNS.join(',')).toBe(
      'request_id,conversation,turn,started_at,ttft_ms,latency_ms,tpot_ms,input_tokens,output_tokens,cached_tokens,status,success,error_kind,error_message')
    expect(multiTurnRequestRow(requestRecord({ turnIndex: 2, tpotMs: 12.345 }))).toBe('c4-r1-0,session-a,3,2026-01-02T03:04:05.000Z,100.00,400.00,12.35,120,4,64,200,true,,')
    const failed = requestRecord({ ok: false, status: 500, ttftMs: null, tpotMs: null, cachedTokens: null, error: { kind: 'http_error', message: 'HTTP 500, "oops"' } })
    expect(multiTurnRequestRow(failed)).toBe('c4-r1-0,session-a,1,2026-01-02T03:04:05.000Z,,400.00,,120,4,,500,false,http_error,"HTTP 500, ""oops"""')
    expect(multiTurnRequestRow(requestRecord({ status: null })).split(',')).toHaveLength(MULTI_TURN_REQUEST_COLUMNS.length)
  })

  describe('CsvAppender', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fluxperf-csv-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    test('writes the header before the first row, and the header alone when no row came', () => {
      const rows = new CsvAppender(join(dir, 'rows.csv'), ['a', 'b'])
      rows.write('1,2')
      rows.write('3,4')
      rows.close()
      rows.write('5,6')
      expect(readFileSync(rows.path, 'utf8')).toBe('a,b\n1,2\n3,4\n')
      const none = new CsvAppender(join(dir, 'none.csv'), ['a', 'b'])
      none.close()
      expect(readFileSync(none.path, 'utf8')).toBe('a,b\n')
    })
  })
})
