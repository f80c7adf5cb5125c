import { describe, expect, test } from 'vitest'
import { errorTable, formatRound, formatSpeedups } from '../../src/report/index.ts'
import { dualRoundRun, METRICS, roundResult, summary } from './fixtures.ts'

const RULE = '='.repeat(120)

describe('the per-round console block', () => {
  test('header, counts, the metric table, throughput, goodput, cache evidence and errors, as the seed prints them', () => {
    const round = roundResult({
      round: 2,
      cache: { promptTokens: 900, cachedTokens: 450, cachedShare: 0.5, reportedBy: 9 },
      goodput: { requests: 7, totalRequests: 10, requestShare: 0.7, tokens: 224, totalTokens: 320, tokenShare: 0.7, requestsPerS: 2.8, tokensPerS: 89.6 },
    })
    expect(formatRound(round)).toBe([
      RULE,
      'Concurrency: 4 | Round 2 Performance Metrics',
      RULE,
      'Total Requests: 10 | Success: 9 | Failed: 1 | Test Duration: 2.50 seconds',
      'Average Input Tokens: 100.5 | Average Output Tokens: 32.0',
      '-'.repeat(120),
      '│ Metric                       │ Avg          │ P50          │ P90          │ P99          │ Min          │ Max          │ Stddev       │',
      `├${'─'.repeat(30)}${`┼${'─'.repeat(14)}`.repeat(7)}┤`,
      '│ TTFT (ms)                    │ 123.46       │ 118.00       │ 150.50       │ 191.00       │ 80.10        │ 201.20       │ 30.13        │',
      '│ TPOT (ms) [seed "ITL"]       │ 12.30        │ 12.10        │ 14.20        │ 17.40        │ 10.50        │ 18.60        │ 1.70         │',
      '│ ITL gaps (ms)                │ 11.90        │ 11.80        │ 13.70        │ 16.50        │ 0.40         │ 19.30        │ 2.20         │',
      '│ Latency (ms)                 │ 520.50       │ 510.00       │ 600.00       │ 700.00       │ 400.00       │ 710.00       │ 55.50        │',
      `└${'─'.repeat(30)}${`┴${'─'.repeat(14)}`.repeat(7)}┘`,
      '',
      'Throughput:',
      '  Token Throughput: 115.20 tokens/sec',
      '  Request Throughput: 3.60 requests/sec',
      '',
      'Goodput (SLO):',
      '  Requests Meeting SLO: 7 / 10 (70.00%)',
      '  Tokens Meeting SLO: 224 / 320 (70.00%)',
      '  Goodput: 2.80 requests/sec, 89.60 tokens/sec',
      '',
      'Server-reported cached prompt tokens: 450 / 900 (50.00%) over 9 requests',
      '',
      'Errors:',
      '  kind                    count  first message',
      '  timeout                     1  no answer within 30 s',
    ].join('\n'))
  })

  test('metrics a round lacks are left out of the table; a server without cache counts gets no cache line', () => {
    const { ttft, latency } = METRICS
    const text = formatRound(roundResult({ metrics: { ttft, latency }, cache: { promptTokens: 900, cachedTokens: 0, cachedShare: null, reportedBy: 0 }, errors: [], failed: 0, succeeded: 10 }))
    const rows = text.split('\n').filter((l) => l.startsWith('│ ') && !l.startsWith('│ Metric'))
    expect(rows.map((l) => l.split('│')[1]?.trim())).toEqual(['TTFT (ms)', 'Latency (ms)'])
    expect(text).not.toContain('Server-reported')
    expect(text).not.toContain('Errors:')
    expect(text).not.toContain('Goodput')
  })

  test('notes on requests that succeeded unusually, before the errors', () => {
    const text = formatRound(roundResult({ notes: { resent: 2, noDoneMarker: 1, notStreamed: 3 } }))
    const tail = text.split('\n').slice(-8)
    expect(tail).toEqual([
      '',
      'Note: 2 request(s) re-sent on a new connection: the server closed the reused one before answering (timed from the first send)',
      'Note: 1 stream(s) ended after their finish chunk without data: [DONE] (accepted)',
      'Warning: 3 streaming request(s) were answered with one JSON body: measured as non-streamed (TTFT = latency, no ITL)',
      '',
      'Errors:',
      '  kind                    count  first message',
      '  timeout                     1  no answer within 30 s',
    ])
  })

  test('a round without requests says n/a for its duration and throughput', () => {
    const text = formatRound(roundResult({ total: 0, succeeded: 0, failed: 0, errors: [] }))
    expect(text).toContain('Total Requests: 0 | Success: 0 | Failed: 0 | Test Duration: n/a (no requests)')
    expect(text).toContain('  Token Throughput: n/a (no requests)\n  Request Throughput: n/a (no requests)')
  })
})

describe('errorTable', () => {
  test('kind padded to 22, count right-aligned in 6, the first message cut at 200 characters', () => {
    const long = 'x'.repeat(250)
    expect(errorTable(roundResult({ errors: [{ kind: 'http_error', count: 12, firstMessage: 'HTTP 503' }, { kind: 'server_disconnected', count: 1234567, firstMessage: long }] }))).toEqual([
      'Errors:',
      '  kind                    count  first message',
      '  http_error                 12  HTTP 503',
      `  server_disconnected    1234567  ${'x'.repeat(200)}`,
    ])
  })
})

describe('the cache speedup lines', () => {
  test('one line per level: ratio, cold → warm means, and the server\'s cached shares', () => {
    const run = dualRoundRun([roundResult(), roundResult({ round: 2 })], {
      speedups: [
        { concurrency: 4, metric: 'ttft', stat: 'avg', cold: 123.456, warm: 41.152, ratio: 3, warmCachedShare: 0.5 },
        { concurrency: 4, metric: 'ttft', stat: 'p50', cold: 118.04, warm: 59.02, ratio: 2, warmCachedShare: 0.5 },
      ],
    })
    expect(formatSpeedups(run)).toBe('\nCache speedup (round 1 / round 2):\n' +
      '  Concurrency 4: TTFT avg 3.00x (123.5 → 41.2 ms), TTFT p50 2.00x (118.0 → 59.0 ms); server-reported cached prompt tokens 0.00% → 50.00%')
  })

  test('a ratio without a value gives its reason; no cached counts are said to be missing', () => {
    const run = dualRoundRun([roundResult({ concurrency: 2 }), roundResult({ concurrency: 2, round: 2, metrics: { ...METRICS, ttft: summary({ count: 0 }) } })], {
      speedups: [{ concurrency: 2, metric: 'ttft', stat: 'avg', cold: 123.456, warm: 0, ratio: null, reason: 'no successful requests in Concurrency2-Round2', warmCachedShare: null }],
    })
    expect(formatSpeedups(run)).toBe('\nCache speedup (round 1 / round 2):\n' +
      '  Concurrency 2: TTFT avg n/a (no successful requests in Concurrency2-Round2); the server reports no cached-token counts')
  })

  test('nothing at all without speedups', () => {
    expect(formatSpeedups(dualRoundRun())).toBe('')
  })
})
