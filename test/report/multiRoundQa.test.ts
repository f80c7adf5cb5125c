import { describe, expect, test } from 'vitest'
import {
  generationSpeed, QA_CSV_COLUMNS, qaCsvRow, qaFileNames, qaSummaryText, qpsTag, realtimeHeader, realtimeLine, requestItlMs,
} from '../../src/report/index.ts'
import type { ScheduledSend } from '../../src/schedule/index.ts'
import { METRICS, noSamples, openLoop, requestRecord, roundResult } from './fixtures.ts'

/** The fourth send of the schedule, user 2's second question, sent 250 ms late. */
const SEND: ScheduledSend = {
  index: 3, userId: 2, question: 1, intendedAt: Date.parse('2026-01-02T03:04:04.750Z'), sentAt: Date.parse('2026-01-02T03:04:05.000Z'),
  lagMs: 250, late: true, dropped: false, requestId: 'qa-3',
}

describe('the QA summary block (the Python multi-round QA tool\'s, 004, plus open-loop accounting)', () => {
  test('configuration, totals, TTFT/TPOT/ITL mean, median and P99, the schedule, errors', () => {
    const text = qaSummaryText({
      title: 'Final performance summary', elapsedS: 10.25, round: roundResult({ label: 'QPS2', concurrency: 0 }), openLoop: openLoop(),
      config: { model: 'm', qps: 2, burstiness: undefined, ignore_eos: false, extra: { a: 1 } },
    })
    expect(text).toBe(`${'='.repeat(60)}
Final performance summary
${'='.repeat(60)}
Configuration:
  model: m
  qps: 2
  ignore_eos: false
  extra: {"a":1}

Elapsed since start: 10.3 s
Successful requests: 9
Failed requests: 1
Benchmark duration: 2.50 s
Total input tokens: 905
Total generated tokens: 288
Request throughput: 3.60 req/s
Input token throughput: 361.80 tokens/s
Output token throughput: 115.20 tokens/s

Time to First Token (TTFT):
  Mean: 123.46 ms
  Median: 118.00 ms
  P99: 191.00 ms
Time per Output Token (TPOT, excl. 1st token):
  Mean: 12.30 ms
  Median: 12.10 ms
  P99: 17.40 ms
Inter-token Latency (ITL):
  Mean: 11.90 ms
  Median: 11.80 ms
  P99: 16.50 ms

Open-loop schedule:
  Target QPS: 2.00
  Achieved QPS: 1.90 (95.0% of target)
  Scheduled sends: 20 | sent: 19 | late: 1 | dropped: 1
  Schedule lag (actual - intended send): mean 0.50 ms, median 0.25 ms, P99 4.00 ms, max 6.50 ms
  TTFT from intended send: mean 124.00 ms, median 118.50 ms, P99 195.00 ms
  Latency from intended send: mean 521.00 ms, median 511.00 ms, P99 704.00 ms

Errors:
  timeout: 1 (no answer within 30 s)
`)
  })

  test('without configuration the block opens with the elapsed time; a metric without samples says why', () => {
    const round = roundResult({ metrics: { ...METRICS, tpot: noSamples() }, errors: [], failed: 0, succeeded: 10 })
    const lines = qaSummaryText({ title: 'Performance summary', elapsedS: 5, round, openLoop: openLoop({ achievedRate: 1 }) }).split('\n')
    expect(lines.slice(3, 4)).toEqual(['Elapsed since start: 5.0 s'])
    expect(lines).toContain('Time per Output Token (TPOT, excl. 1st token): n/a (no request had 2+ output tokens)')
    expect(lines).toContain('  Achieved QPS: 1.00 (50.0% of target)')
    expect(lines).not.toContain('Errors:')
  })
})

describe('realtime_stats_qps_X.XX.txt', () => {
  test('the header and one line per finished request: end time, user, question (1-based), counts, timings', () => {
    expect(realtimeHeader(2)).toBe('# fluxperf multi-round-qa realtime stats, target QPS 2.00: one line per finished request (times in ms, speed in tokens/s)\n')
    expect(realtimeLine(requestRecord({ id: 'qa-3' }), SEND)).toBe(
      '2026-01-02T03:04:05.400Z user=2 request=qa-3 question=2 prompt_tokens=120 generation_tokens=4 cached_tokens=64 ' +
      'ttft_ms=100.00 tpot_ms=100.00 itl_ms=100.00 generation_speed=10.00 schedule_lag_ms=250.00 late=true\n')
  })

  test('a failed request: status, error kind and the message as a JSON string; unknown counts read n/a', () => {
    const failed = requestRecord({ id: 'qa-3', ok: false, status: 503, error: { kind: 'http_error', message: 'HTTP 503 "busy"' } })
    expect(realtimeLine(failed, { ...SEND, late: false })).toBe('2026-01-02T03:04:05.400Z user=2 request=qa-3 question=2 status=503 error=http_error message="HTTP 503 \\"busy\\""\n')
    const line = realtimeLine(requestRecord({ cachedTokens: null, tpotMs: null, chunkOffsetsMs: [100] }), { ...SEND, late: false })
    expect(line).toContain(' cached_tokens=n/a ttft_ms=100.00 tpot_ms=n/a itl_ms=n/a ')
    expect(line.endsWith('schedule_lag_ms=250.00\n')).toBe(true)
  })
})

describe('the --output CSV', () => {
  test('its columns, in order', () => {
    expect(QA_CSV_COLUMNS.join(',')).toBe(
      'request_id,user_id,question_id,outcome,late,scheduled_time,launch_time,finish_time,schedule_lag_ms,prompt_tokens,generation_tokens,' +
      'cached_tokens,ttft_ms,ttft_from_scheduled_ms,tpot_ms,itl_ms,latency_ms,latency_from_scheduled_ms,generation_time_s,generation_speed,status,error')
  })

  test('an answered send: times as ISO stamps, timings from the send and from the intended time', () => {
    const row = qaCsvRow(SEND, requestRecord({ id: 'qa-3' }))
    expect(row).toBe('qa-3,2,2,ok,true,2026-01-02T03:04:04.750Z,2026-01-02T03:04:05.000Z,2026-01-02T03:04:05.400Z,250.00,120,4,64,100.00,350.00,100.00,100.00,400.00,650.00,0.300,10.00,200,')
    expect(row.split(',')).toHaveLength(QA_CSV_COLUMNS.length)
  })

  test('a dropped send keeps its place with empty timings; a failed one names its error', () => {
    expect(qaCsvRow({ ...SEND, dropped: true, sentAt: null, lagMs: null, requestId: null }, undefined)).toBe(',2,2,dropped,true,2026-01-02T03:04:04.750Z,,,,,,,,,,,,,,,,')
    const failed = requestRecord({ ok: false, status: 500, ttftMs: null, tpotMs: null, chunkOffsetsMs: [], outputTokens: 0, error: { kind: 'http_error', message: 'HTTP 500, retry' } })
    expect(qaCsvRow(SEND, failed)).toBe('qa-3,2,2,failed,true,2026-01-02T03:04:04.750Z,2026-01-02T03:04:05.000Z,2026-01-02T03:04:05.400Z,250.00,120,0,64,,,,,400.00,650.00,,,500,"http_error: HTTP 500, retry"')
    expect(qaCsvRow({ ...SEND, late: false }, undefined).split(',').slice(0, 5)).toEqual(['qa-3', '2', '2', 'unfinished', 'false'])
  })
})

describe('file names and per-request figures', () => {
  test('the tool\'s file names carry the rate with two decimals', () => {
    expect(qpsTag(0.5)).toBe('0.50')
    expect(qaFileNames(2)).toEqual({ realtime: 'realtime_stats_qps_2.00.txt', periodic: 'performance_summary_qps_2.00.txt', final: 'final_performance_summary_qps_2.00.txt' })
  })

  test('a request\'s own ITL is its mean chunk gap; its generation speed counts tokens after the first', () => {
    expect(requestItlMs(requestRecord({ chunkOffsetsMs: [100, 130, 190] }))).toBe(45)
    expect(requestItlMs(requestRecord({ chunkOffsetsMs: [100] }))).toBeNull()
    expect(generationSpeed(requestRecord({ ttftMs: 100, latencyMs: 600, outputTokens: 11 }))).toBe(20)
    expect(generationSpeed(requestRecord({ outputTokens: 1 }))).toBeNull()
    expect(generationSpeed(requestRecord({ ok: false }))).toBeNull()
  })
})
