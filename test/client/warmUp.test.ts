import { describe, expect, test } from 'vitest'
import { warmUpClient } from '../../src/client/warmUp.ts'

const tcp = (): number => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length

describe('warmUpClient', () => {
  test('streams over loopback once per process and leaves no server or socket open', async () => {
    const before = tcp()
    const first = warmUpClient('chat')
    expect(warmUpClient('chat')).toBe(first)
    await first
    expect(tcp()).toBe(before)
  })
})
