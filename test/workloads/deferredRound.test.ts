import { expect, test } from 'vitest'
import { summariseRound } from '../../src/metrics/index.ts'
import { DeferredRound } from '../../src/workloads/deferredRound.ts'
import { records } from '../helpers/runs.ts'

const id = { label: 'Concurrency4-Round1', concurrency: 4, round: 1 }

test('finish() summarises every record added, pending ones included, as summariseRound would', () => {
  const all = records(2500, [100, 200, 300])
  const round = new DeferredRound(id)
  // More than the backlog bound (1,024): some are summarised at once, the rest wait for finish().
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
