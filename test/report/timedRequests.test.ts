import { describe, expect, test } from 'vitest'
import { timelineOf, TimedRequestLog } from '../../src/report/html/index.ts'
import type { TimedRequest } from '../../src/report/html/index.ts'
import type { ErrorKind } from '../../src/types.ts'

const KINDS: ErrorKind[] = ['timeout', 'http_error', 'server_disconnected']

/** Requests of every shape the timeline reads: with and without TTFT, schedule and error. */
function requests(n: number): TimedRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const r: TimedRequest = { startedAt: 1_764_633_600_000 + i * 0.37, latencyMs: 5 + (i % 11) * 0.125, ttftMs: i % 5 === 0 ? null : 1 + (i % 7) * 0.5, ok: i % 13 !== 0 }
    if (i % 3 === 0) r.scheduledAt = r.startedAt - (i % 4) * 0.25
    if (!r.ok && i % 2 === 0) r.error = { kind: KINDS[i % KINDS.length] as ErrorKind, message: '' }
    return r
  })
}

describe('TimedRequestLog: the timeline fields in typed arrays', () => {
  test('gives back every request as added, in order, across blocks', () => {
    // Past one block of 65,536, so the second block's first entries are read too.
    const all = requests(70_000)
    const log = new TimedRequestLog()
    for (const r of all) log.add(r)
    expect(log.size).toBe(70_000)
    const back = [...log]
    expect(back).toHaveLength(70_000)
    for (const i of [0, 1, 5, 13, 26, 39, 65_535, 65_536, 65_537, 69_999]) expect(back[i], `request ${i}`).toEqual(all[i])
    expect(back.filter((r) => r.error).map((r) => r.error?.kind)).toEqual(all.filter((r) => r.error).map((r) => r.error?.kind))
  })

  test('the timeline drawn from it is the one drawn from the records', () => {
    const all = requests(30_000)
    const log = new TimedRequestLog()
    for (const r of all) log.add(r)
    expect(timelineOf(log)).toEqual(timelineOf(all))
  })

  test('a failed request without an error object stays failed, with no kind', () => {
    const log = new TimedRequestLog()
    log.add({ startedAt: 1, latencyMs: 2, ttftMs: null, ok: false })
    expect([...log]).toEqual([{ startedAt: 1, latencyMs: 2, ttftMs: null, ok: false }])
  })
})
