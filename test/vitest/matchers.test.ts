import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { dualRun, records } from '../helpers/runs.ts'

// Round 1 cold (TTFT 400–600 ms), round 2 warm (TTFT 90–110 ms), decode 100 ms per token.
const cold = records(40, [400, 500, 600])
const warm = records(40, [90, 100, 110])
const run = dualRun(cold, warm)

describe('toMeetSlo', () => {
  test('passes when every term holds, fails with a term table otherwise', () => {
    expect(run).toMeetSlo({ ttft: ['p(90) < 800'], tpot: ['avg < 150'], errorRate: ['rate < 0.01'] })
    expect(() => expect(run).toMeetSlo({ ttft: ['p(90) < 300'] })).toThrow(/Concurrency4-Round1[\s\S]*ttft[\s\S]*p\(90\)[\s\S]*FAIL/)
  })

  test('.not inverts the verdict', () => {
    expect(run).not.toMeetSlo({ ttft: ['p(90) < 300'] })
    expect(() => expect(run).not.toMeetSlo({ ttft: ['p(90) < 800'] })).toThrow(/every term held/)
  })

  test('selects a round', () => {
    expect(run).toMeetSlo({ ttft: ['p(90) < 300'] }, { round: 2 })
  })

  test('a term naming a metric the run lacks fails; an unknown metric is an error', () => {
    const noGoodput = () => expect(run).toMeetSlo({ goodput: ['rate > 0.5'] })
    expect(noGoodput).toThrow(/goodput/)
    expect(() => expect(run).toMeetSlo({ nonsense: ['avg < 1'] })).toThrow(/nonsense/)
  })

  test('a saturated client fails unless the user opts out', () => {
    const saturated = { ...run, clientSaturated: true, eventLoopDelayP99Ms: 120 }
    expect(() => expect(saturated).toMeetSlo({ ttft: ['p(90) < 800'] })).toThrow(/not trustworthy/)
    expect(saturated).toMeetSlo({ ttft: ['p(90) < 800'] }, { allowSaturatedClient: true })
  })
})

describe('toHaveCacheSpeedup', () => {
  test('passes when round 1 / round 2 reaches the ratio, fails with the table otherwise', () => {
    expect(run).toHaveCacheSpeedup({ metric: 'ttft', stat: 'p50', atLeast: 4 })
    expect(() => expect(run).toHaveCacheSpeedup({ atLeast: 10 })).toThrow(/ratio[\s\S]*FAIL/)
  })

  test('.not passes when there is no speedup', () => {
    const flat = dualRun(cold, cold)
    expect(flat).not.toHaveCacheSpeedup({ atLeast: 2 })
    expect(() => expect(run).not.toHaveCacheSpeedup({ atLeast: 2 })).toThrow(/Expected no cache speedup/)
  })

  test('shows the server-reported cached share, so a hit with a small ratio is told apart from a miss', () => {
    const hit = dualRun(cold, records(40, [400, 500, 600], { cachedTokens: 10 }))
    expect(() => expect(hit).toHaveCacheSpeedup({ atLeast: 2 })).toThrow(/100\.0%[\s\S]*cache is hit/)
  })
})

describe('toHaveGoodput and toHaveErrorRate', () => {
  const withGoodput = dualRun(cold, warm, { goodput: (r) => (r.ttftMs ?? Infinity) < 450 })

  test('goodput at least', () => {
    expect(withGoodput).toHaveGoodput({ atLeast: 0.3, round: 1 })
    expect(() => expect(withGoodput).toHaveGoodput({ atLeast: 0.5 })).toThrow(/Concurrency4-Round1[\s\S]*FAIL/)
    expect(withGoodput).not.toHaveGoodput({ atLeast: 0.9 })
    expect(() => expect(run).toHaveGoodput({ atLeast: 0.1 })).toThrow(/no per-request SLO/)
  })

  test('error rate below', () => {
    const failing = dualRun(cold, [...warm.slice(0, 30), ...records(10, [0], { ok: false, ttftMs: null, error: { kind: 'timeout', message: 'too slow' } })])
    expect(run).toHaveErrorRate({ below: 0.01 })
    expect(() => expect(failing).toHaveErrorRate({ below: 0.1 })).toThrow(/timeout ×10/)
    expect(failing).not.toHaveErrorRate({ below: 0.1 })
  })
})

describe('toNotRegress', () => {
  let dir = ''
  afterEach(() => {
    vi.unstubAllEnvs()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  const fresh = (): string => (dir = mkdtempSync(join(tmpdir(), 'fluxperf-baseline-')))

  test('writes a missing baseline locally, then passes against itself and fails on a real slow-down', () => {
    vi.stubEnv('CI', '')
    vi.stubEnv('FLUXPERF_UPDATE_BASELINE', '')
    const path = join(fresh(), 'b.json')
    expect(run).toNotRegress(path)
    expect(JSON.parse(readFileSync(path, 'utf8')).schemaVersion).toBe(1)
    expect(dualRun(records(40, [410, 490, 610]), records(40, [92, 100, 108]))).toNotRegress(path, { tolerance: 0.1 })
    const slower = dualRun(records(40, [800, 1000, 1200]), warm)
    expect(() => expect(slower).toNotRegress(path, { tolerance: 0.1 })).toThrow(/REGRESSED/)
    expect(slower).not.toNotRegress(path, { tolerance: 0.1 })
  })

  test('a missing baseline fails under CI=true', () => {
    vi.stubEnv('CI', 'true')
    vi.stubEnv('FLUXPERF_UPDATE_BASELINE', '')
    expect(() => expect(run).toNotRegress(join(fresh(), 'missing.json'))).toThrow(/CI=true/)
  })

  test('noise inside the spread of both runs is not a regression', () => {
    vi.stubEnv('CI', '')
    vi.stubEnv('FLUXPERF_UPDATE_BASELINE', '')
    const path = join(fresh(), 'b.json')
    const noisy = (shift: number) => dualRun(records(40, [300 + shift, 500, 700 - shift, 900]), records(40, [50, 100 + shift, 150, 200]))
    expect(noisy(0)).toNotRegress(path)
    expect(noisy(40)).toNotRegress(path, { tolerance: 0.05 })
  })
})
