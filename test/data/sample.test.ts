import { describe, expect, it } from 'vitest'
import { sampleConversations } from '../../src/data/index.ts'
import { InputError } from '../../src/errors.ts'
import type { Conversation } from '../../src/types.ts'

const convs: Conversation[] = Array.from({ length: 50 }, (_, i) => ({ sessionId: `s${i}`, userMessages: [`q${i}`], source: `f:${i + 1}` }))
const indexes = (list: Conversation[]): number[] => list.map((c) => Number(c.sessionId.slice(1)))

describe('sampleConversations', () => {
  it('returns every row in file order when n is undefined or at least the length', () => {
    expect(sampleConversations(convs, undefined, 1)).toEqual(convs)
    expect(sampleConversations(convs, 50, 1)).toEqual(convs)
    expect(sampleConversations(convs, 500, 1)).toEqual(convs)
    expect(sampleConversations(convs, undefined, 1)).not.toBe(convs)
  })

  it('draws n distinct rows, kept in file order', () => {
    const picked = indexes(sampleConversations(convs, 10, 42))
    expect(picked).toHaveLength(10)
    expect(new Set(picked).size).toBe(10)
    expect(picked).toEqual([...picked].sort((a, b) => a - b))
  })

  it('is deterministic for a seed and differs between seeds', () => {
    expect(sampleConversations(convs, 10, 7)).toEqual(sampleConversations(convs, 10, 7))
    expect(indexes(sampleConversations(convs, 10, 7))).not.toEqual(indexes(sampleConversations(convs, 10, 8)))
  })

  it('does not always pick the first rows', () => {
    const picked = indexes(sampleConversations(convs, 5, 3))
    expect(picked).not.toEqual([0, 1, 2, 3, 4])
  })

  it.each([0, -1, 2.5, Number.NaN])('rejects n = %s', (n) => {
    expect(() => sampleConversations(convs, n, 1)).toThrow(InputError)
  })
})
