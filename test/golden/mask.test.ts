// The masking of the golden tests (mask.ts) on small hand-written outputs: what it masks, and what it
// must keep (a mask that hid everything would let every golden test pass).
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { mask, TMP_PREFIX } from './mask.ts'

describe('mask', () => {
  test('console text: timings, rates, ratios, ports, clock times and the temp dir go; labels, counts and cache shares stay', () => {
    const text = [
      `Started the built-in mock at http://127.0.0.1:41234`,
      `Total Requests: 3 | Success: 3 | Failed: 0 | Test Duration: 0.15 seconds`,
      `Average Input Tokens: 209.3 | Average Output Tokens: 8.0`,
      `│ TTFT (ms)                    │ 29.77        │ 1234.50      │`,
      `  Token Throughput: 163.17 tokens/sec`,
      `Server-reported cached prompt tokens: 592 / 628 (94.27%) over 3 requests`,
      `  Concurrency 1: TTFT avg 2.10x (29.8 → 14.2 ms); server-reported cached prompt tokens 0.00% → 94.27%`,
      `  Min:         14.63 ms`,
      `  Turn  1:      96.31 ms avg,     170.97 ms p50 (2 requests)`,
      `Performance summary at 2026-12-04T18:24:21.205Z`,
      `Total time: 0.24s`,
      `<ts> user=0 request=u0-q1 prompt_tokens=95 cached_tokens=0 ttft_ms=22.81 generation_speed=379.58 schedule_lag_ms=0.74`,
      `PASSED: 8/8 requests succeeded, achieved 3.98 of 4.00 QPS (0 late, 0 dropped of 8 scheduled); files: ${join(tmpdir(), `${TMP_PREFIX}Ab12Cd`)}/qa/summary.csv`,
    ].join('\n')
    expect(mask('stdout', text)).toBe([
      `Started the built-in mock at http://127.0.0.1:<PORT>`,
      `Total Requests: 3 | Success: 3 | Failed: 0 | Test Duration: <T> seconds`,
      `Average Input Tokens: 209.3 | Average Output Tokens: 8.0`,
      `│ TTFT (ms)                    │ <T>          │ <T>          │`,
      `  Token Throughput: <T> tokens/sec`,
      `Server-reported cached prompt tokens: 592 / 628 (94.27%) over 3 requests`,
      `  Concurrency 1: TTFT avg <T>x (<T> → <T> ms); server-reported cached prompt tokens 0.00% → 94.27%`,
      `  Min:           <T> ms`,
      `  Turn  1:        <T> ms avg,        <T> ms p50 (2 requests)`,
      `Performance summary at <TIME>`,
      `Total time: <T>s`,
      `<ts> user=0 request=u0-q1 prompt_tokens=95 cached_tokens=0 ttft_ms=<T> generation_speed=<T> schedule_lag_ms=<T>`,
      `PASSED: 8/8 requests succeeded, achieved <T> of 4.00 QPS (0 late, 0 dropped of 8 scheduled); files: <TMP>/qa/summary.csv`,
    ].join('\n'))
  })

  test('the SLO table: observed times masked, limits and results kept, widths normalised', () => {
    const table = [
      'round                metric         statistic  observed   limit        result',
      '-------------------  -------------  ---------  ---------  -----------  ------',
      'Concurrency1-Round1  ttft (ttft_ms)  max        155.10 ms  < 1000 ms    pass',
      'Concurrency1-Round1  errorRate      rate       0 (0%)     < 0.01 (1%)  pass',
      '',
      'after the table:  55.10 ms',
    ].join('\n')
    expect(mask('stdout', table)).toBe([
      'round  metric  statistic  observed  limit  result',
      '--  --  --  --  --  --',
      'Concurrency1-Round1  ttft (ttft_ms)  max  <T> ms  < 1000 ms  pass',
      'Concurrency1-Round1  errorRate  rate  0 (0%)  < 0.01 (1%)  pass',
      '',
      'after the table:    <T> ms', // right-aligned: the width of '  55.10' is kept
    ].join('\n'))
  })

  test('periodic qa summaries: counts masked until the final summary, which keeps them', () => {
    const text = ['Performance summary at 2026-12-04T18:24:21.205Z', 'Successful requests: 4', '  Scheduled sends: 4 | sent: 4 | late: 0 | dropped: 0',
      'Final performance summary', 'Successful requests: 8', '  Scheduled sends: 8 | sent: 8 | late: 0 | dropped: 0'].join('\n')
    expect(mask('stdout', text)).toBe(['Performance summary at <TIME>', 'Successful requests: <T>', '  Scheduled sends: <T> | sent: <T> | late: <T> | dropped: <T>',
      'Final performance summary', 'Successful requests: 8', '  Scheduled sends: 8 | sent: 8 | late: 0 | dropped: 0'].join('\n'))
  })

  test('the client-saturation warning (machine load) is dropped with its blank line', () => {
    expect(mask('stdout', 'a\n\nWarning: the client was saturated (event-loop delay p99 61.2 ms); timings are not trustworthy.\n\nPASSED')).toBe('a\n\nPASSED')
  })

  test('CSV by column name: timing columns masked, counts, ids, flags and empty cells kept', () => {
    const csv = 'request_id,turn,started_at,ttft_ms,ttft_count,latency_p50,input_tokens,cached_tokens,success,error_kind\nc1-t1,1,2026-12-04T18:24:19.831Z,70.93,2,90.77,723,,true,\nc1-t2,2,x,,1,5.00,7,0,false,timeout\n'
    expect(mask('requests.csv', csv)).toBe('request_id,turn,started_at,ttft_ms,ttft_count,latency_p50,input_tokens,cached_tokens,success,error_kind\nc1-t1,1,<T>,<T>,2,<T>,723,,true,\nc1-t2,2,<T>,,1,<T>,7,0,false,timeout\n')
  })

  test('metrics_summary.csv by block and row: timing blocks and rows masked, token and request counts kept', () => {
    const csv = 'Metric/Round,C1-R1,C1-R2\n\nTTFT (ms)\nAverage,29.77,14.19\n\nInput Tokens\nAverage,209.33,209.33\n\nRequests\nTotal,3,3\nDuration (s),0.15,0.11\n\nThroughput\nRequest Throughput (req/s),20.40,28.53\n\nCache\nCached Prompt Tokens (%),0,94.27\nTTFT Speedup Avg (R1/R2),,2.10\n'
    expect(mask('metrics_summary.csv', csv)).toBe('Metric/Round,C1-R1,C1-R2\n\nTTFT (ms)\nAverage,<T>,<T>\n\nInput Tokens\nAverage,209.33,209.33\n\nRequests\nTotal,3,3\nDuration (s),<T>,<T>\n\nThroughput\nRequest Throughput (req/s),<T>,<T>\n\nCache\nCached Prompt Tokens (%),0,94.27\nTTFT Speedup Avg (R1/R2),,<T>\n')
  })

  test('JSON by key: timing keys masked (arrays keep their length, stat objects their count), config limits kept, queuedMs dropped', () => {
    const doc = {
      configuration: { endpoint: 'http://127.0.0.1:5555/v1/chat/completions', maxConnections: 9968, timeout: 300, goodputSlo: { ttftMs: 1000 } },
      summary: { total_requests: 3, avg_ttft: 1.5, request_throughput: 20.4, duration_s: 0.1, metrics: { ttft: { count: 3, avg: 2 }, inputTokens: { count: 3, avg: 209 } } },
      requests: [{ index: 0, ttft: 1, itl: 2, latency: 3, input_tokens: 12, success: true, startedAt: 1796408659301.494, chunkOffsetsMs: [1, 2], queuedMs: 0.06, chunkTokens: [1, 1], ttftMs: null }],
    }
    expect(JSON.parse(mask('x.json', JSON.stringify(doc, null, 2)))).toEqual({
      configuration: { endpoint: 'http://127.0.0.1:<PORT>/v1/chat/completions', maxConnections: '<ENV>', timeout: 300, goodputSlo: { ttftMs: 1000 } },
      summary: { total_requests: 3, avg_ttft: '<T>', request_throughput: '<T>', duration_s: '<T>', metrics: { ttft: { count: 3, avg: '<T>' }, inputTokens: { count: 3, avg: 209 } } },
      requests: [{ index: 0, ttft: '<T>', itl: '<T>', latency: '<T>', input_tokens: 12, success: true, startedAt: '<T>', chunkOffsetsMs: ['<T>', '<T>'], chunkTokens: [1, 1], ttftMs: null }],
    })
  })

  test('file names: the timestamp of a request log', () => {
    expect(mask('name.txt', 'requests_round1_conc2_20261204_182419.jsonl')).toBe('requests_round1_conc2_<STAMP>.jsonl')
  })
})
