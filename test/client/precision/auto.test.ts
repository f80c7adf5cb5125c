import { availableParallelism } from 'node:os'
import { describe, expect, test } from 'vitest'
import { enterPrecision } from '../../../src/client/precision/index.ts'
import { confinedToOneCpu } from '../../../src/client/precision/scheduling.ts'
import { hasTaskset, ON_CPU_0, runNode, srcModule } from './processState.ts'

describe("precision 'auto'", () => {
  test('is on exactly where the process is confined to one CPU', async () => {
    const precision = await enterPrecision({ mode: 'auto' })
    try {
      expect(precision.mode).toBe('auto')
      expect(precision.active).toBe(confinedToOneCpu())
      expect(confinedToOneCpu()).toBe(availableParallelism() === 1)
      if (!precision.active) {
        expect(precision.describe()).toBe(`precision off (auto: the process may use ${availableParallelism()} CPUs; confined to one, e.g. taskset -c 0, it turns on)`)
        expect(precision.summary()).toEqual({ mode: 'auto', active: false, changes: [], refused: [] })
      }
    } finally {
      await precision.dispose()
    }
  })

  test.runIf(hasTaskset)('under taskset -c 0 it is on, and says it chose so', () => {
    const run = runNode<{ active: boolean; confined: boolean; describe: string; mode: string }>(`
      import { enterPrecision } from ${srcModule('client/precision/index.ts')}
      import { confinedToOneCpu } from ${srcModule('client/precision/scheduling.ts')}
      const precision = await enterPrecision({ mode: 'auto' })
      await precision.dispose()
      console.log(JSON.stringify({ active: precision.active, confined: confinedToOneCpu(), describe: precision.describe(), mode: precision.summary().mode }))`, ON_CPU_0)
    expect(run).toMatchObject({ active: true, confined: true, mode: 'auto' })
    expect(run.describe).toMatch(/^precision on \(auto: confined to 1 CPU\): changed /)
  })
})
