import { expect, test, vi } from 'vitest'
import { RoundAccumulator, summariseRound } from '../../src/metrics/index.ts'
import { backlogFor, DeferredRound } from '../../src/workloads/deferredRound.ts'
import { records } from '../helpers/runs.ts'

const id = { label: 'Concurrency4-Round1', concurrency: 4, round: 1 }

test('finish() summarises every record added, pending ones included, as summariseRound would', () => {
  const all = records(2500, [100, 200, 300])
  const round = new DeferredRound(id)
  // More than the backlog bound (128 at concurrency 4): some are summarised at once, the rest wait for finish().
  for (const r of all) round.add(r)
  const summary = round.finish()
  expect(summary).toEqual(summariseRound(id, all))
  expect(summary.total).toBe(2500)
})

test('records added after a finish() are summarised by the timer or the next finish(): totals only grow', async () => {
  const round = new DeferredRound(id)
  for (const r of records(10, [100])) round.add(r)
  // A snapshot takes the pending records too.
  expect(round.finish().total).toBe(10)
  for (const r of records(5, [100])) round.add(r)
  await new Promise((resolve) => setTimeout(resolve, 150))
  expect(round.finish().total).toBe(15)
})

test('backlogFor: twice a closed loop\'s concurrency, 128 at least and 1,024 at most; 1,024 for an open loop', () => {
  expect([1, 4, 64, 100, 300, 512, 513, 4000].map(backlogFor)).toEqual([128, 128, 128, 200, 600, 1024, 1024, 1024])
  expect(backlogFor(0)).toBe(1024)
})

test('a backlog of backlogFor(concurrency) records is summarised at once, without waiting for the timer', () => {
  vi.useFakeTimers()
  const taken = vi.spyOn(RoundAccumulator.prototype, 'add')
  try {
    const round = new DeferredRound({ label: 'Concurrency100-Round1', concurrency: 100, round: 1 })
    const all = records(200, [100])
    for (const r of all.slice(0, 199)) round.add(r)
    expect(taken).not.toHaveBeenCalled()
    round.add(all[199] as (typeof all)[number])
    expect(taken).toHaveBeenCalledTimes(200)
  } finally {
    taken.mockRestore()
    vi.useRealTimers()
  }
})
