import { describe, expect, test } from 'vitest'
import { createRandom } from '../../src/random.ts'
import { parseStages, stagedOffsets, stagesDuration } from '../../src/schedule/index.ts'

describe('parseStages', () => {
  test('reads rate:seconds lists and { rate, duration } objects', () => {
    expect(parseStages('2:30, 8:60', '--stages')).toEqual([{ rate: 2, duration: 30 }, { rate: 8, duration: 60 }])
    expect(parseStages([{ rate: 0.5, duration: 4 }], 'stages')).toEqual([{ rate: 0.5, duration: 4 }])
    expect(stagesDuration(parseStages('2:30,8:60', 'x'))).toBe(90)
  })

  test('names the flag, the stage and what was expected', () => {
    expect(() => parseStages('2:30,8', '--stages')).toThrow(/--stages: stage 2: expected rate:seconds \(e\.g\. 4:30\), got "8"/)
    expect(() => parseStages('0:30', '--stages')).toThrow(/stage 1: rate must be a number > 0/)
    expect(() => parseStages('2:-1', '--stages')).toThrow(/stage 1: duration must be a number > 0/)
    expect(() => parseStages([{ rate: 2, seconds: 3 }], 'stages')).toThrow(/unknown key "seconds"/)
    expect(() => parseStages('', '--stages')).toThrow(/expected stages as rate:seconds/)
  })
})

describe('stagedOffsets', () => {
  test('each stage sends at its rate for its duration, back to back, in order', () => {
    const offsets = [...stagedOffsets([{ rate: 10, duration: 2 }, { rate: 40, duration: 1 }], 'constant', 1, createRandom(1))]
    expect(offsets.filter((o) => o.stage === 0)).toHaveLength(20)
    expect(offsets.filter((o) => o.stage === 1)).toHaveLength(40)
    expect(offsets[20]).toEqual({ offsetMs: 2000, stage: 1 })
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]!.offsetMs).toBeGreaterThan(offsets[i - 1]!.offsetMs)
    expect(offsets.at(-1)!.offsetMs).toBeLessThan(3000)
  })

  test('Poisson stages repeat with the seed, and a stage keeps its arrivals when another changes', () => {
    const a = [...stagedOffsets([{ rate: 5, duration: 10 }, { rate: 20, duration: 5 }], 'poisson', 1, createRandom(7))]
    const b = [...stagedOffsets([{ rate: 5, duration: 10 }, { rate: 20, duration: 5 }], 'poisson', 1, createRandom(7))]
    expect(a).toEqual(b)
    const c = [...stagedOffsets([{ rate: 9, duration: 10 }, { rate: 20, duration: 5 }], 'poisson', 1, createRandom(7))]
    expect(c.filter((o) => o.stage === 1)).toEqual(a.filter((o) => o.stage === 1))
    const n = a.filter((o) => o.stage === 1).length
    expect(n).toBeGreaterThan(60)
    expect(n).toBeLessThan(140)
  })
})
