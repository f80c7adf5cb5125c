import { describe, expect, test } from 'vitest'
import { turbofanThresholdFlag, warmUpClient } from '../../src/client/warmUp.ts'

const tcp = (): number => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length

describe('warmUpClient', () => {
  test('streams over loopback once per process and leaves no server or socket open', async () => {
    const before = tcp()
    const first = warmUpClient('chat')
    expect(warmUpClient('chat')).toBe(first)
    await first
    expect(tcp()).toBe(before)
  })

  test('lowers the TurboFan threshold unless Node was started with one (argument or NODE_OPTIONS)', () => {
    expect(turbofanThresholdFlag([], '')).toBe('--invocation-count-for-turbofan=600')
    expect(turbofanThresholdFlag(['--max-semi-space-size=8'], '--enable-source-maps')).toBe('--invocation-count-for-turbofan=600')
    expect(turbofanThresholdFlag(['--invocation-count-for-turbofan=3000'], '')).toBeUndefined()
    expect(turbofanThresholdFlag([], '--max-old-space-size=4096 --invocation_count_for_turbofan=100')).toBeUndefined()
  })
})
