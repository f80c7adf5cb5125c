import { describe, expect, it } from 'vitest'
import { createRandom } from '../src/random.ts'

describe('createRandom().shuffle', () => {
  const items = Array.from({ length: 50 }, (_, i) => i)

  it('gives a permutation, the same for the same seed, leaving its input alone', () => {
    const a = createRandom(7).shuffle(items)
    expect(a).toEqual(createRandom(7).shuffle(items))
    expect(a).not.toEqual(items)
    expect(a).not.toEqual(createRandom(8).shuffle(items))
    expect([...a].sort((x, y) => x - y)).toEqual(items)
    expect(items[0]).toBe(0)
  })

  it('orders an Int32Array as it orders the plain array (a run shuffles either)', () => {
    const typed = Int32Array.from(items)
    const shuffled = createRandom(7).shuffle(typed)
    expect(shuffled).toBeInstanceOf(Int32Array)
    expect(Array.from(shuffled)).toEqual(createRandom(7).shuffle(items))
    expect(typed[0]).toBe(0)
  })
})
