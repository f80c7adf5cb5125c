import { expect, test } from 'vitest'
import { hasChrt, hasTaskset, ON_CPU_0, runNode, srcModule } from './processState.ts'

/** What a process showed over two runs with precision on: each run's changes at each moment. */
interface TwoRuns {
  /** Run 1 after beforeClock() with the heap as the warm-up left it. */
  quiet: string[]
  /** Run 1 after beforeClock() once the heap had grown past the threshold (a collection then). */
  grown: string[]
  /** Run 2 of the same process, as entered. */
  second: string[]
  refused: string[]
  /** Run 1's summary: a warm-up is not a saturated client, so no back-off is counted. */
  saturationBackOffs: number
  /** Run 1's and run 2's `warmedUp` at the end. */
  warmedUp: boolean[]
}

// A full collection throws away optimised code that embeds objects which died since it was compiled: 88
// functions of the request path in a second run of one process (--trace-deopt, "embedded weak objects
// cleared"). So every collection precision mode forces is followed by the warm-up, in every run.
const placements: [string, readonly string[]][] = [
  ['free to use every CPU', []],
  // Confined (and as root, with its threads moved): the warm-up runs with V8's helpers in their normal class.
  ...(hasTaskset && hasChrt ? [['confined to one CPU (taskset -c 0)', ON_CPU_0] as [string, readonly string[]]] : []),
]

test.each(placements)("precision 'on' warms the client after every full collection it forces, in each run and before the clock: %s", (_, prefix) => {
  const runs = runNode<TwoRuns>(`
    import { enterPrecision } from ${srcModule('client/precision/index.ts')}
    import { GARBAGE_WORTH_COLLECTING } from ${srcModule('client/precision/heap.ts')}
    const first = await enterPrecision({ mode: 'on' })
    await first.beforeClock()
    const quiet = [...first.changes]
    // Held, and more than the threshold: the next beforeClock() collects.
    const held = Array.from({ length: Math.ceil((GARBAGE_WORTH_COLLECTING * 2) / 1024) }, () => new Array(128).fill(1.5))
    await first.beforeClock()
    const grown = [...first.changes]
    const saturationBackOffs = first.summary().saturationBackOffs ?? 0
    const warmedUp = [first.warmedUp]
    await first.dispose()
    held.length = 0
    const second = await enterPrecision({ mode: 'on' })
    const again = [...second.changes]
    warmedUp.push(second.warmedUp)
    await second.dispose()
    console.log(JSON.stringify({ quiet, grown, second: again, refused: [...first.refused, ...second.refused], saturationBackOffs, warmedUp }))`, prefix)
  const warmUps = (changes: string[]): string[] => changes.filter((c) => c.startsWith('client warmed up'))
  expect(runs.refused.filter((r) => r.includes('warm-up'))).toEqual([])
  expect(warmUps(runs.quiet)).toEqual([expect.stringMatching(/^client warmed up \(\d+\.\d\d s\)$/)])
  expect(warmUps(runs.grown)).toEqual([
    expect.stringMatching(/^client warmed up \(\d+\.\d\d s\)$/),
    expect.stringMatching(/^client warmed up again after a collection before the clock \(\d+\.\d\d s\)$/),
  ])
  // The second run collected on entering, so it warmed again rather than trusting the first run's warm-up.
  expect(runs.second).toContain('collections forced before the warm-up and after bursts')
  expect(warmUps(runs.second)).toEqual([expect.stringMatching(/^client warmed up \(\d+\.\d\d s\)$/)])
  expect(runs.saturationBackOffs).toBe(0)
  expect(runs.warmedUp).toEqual([true, true])
})
