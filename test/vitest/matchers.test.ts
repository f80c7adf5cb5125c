import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import type { RunResult } from '../../src/types.ts'
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
    // @ts-expect-error -- Slo has no index signature: a key that is no metric fails type-checking too
    expect(() => expect(run).toMeetSlo({ nonsense: ['avg < 1'] })).toThrow(/nonsense/)
  })

  test('a saved run.json of fluxperf 0.1 (schema 1) is read as schema 2: a saturated one still fails', () => {
    const { client, ...rest } = run
    const v1 = { ...rest, schemaVersion: 1, clientSaturated: true, eventLoopDelayP99Ms: 120 }
    expect(() => expect(v1).toMeetSlo({ ttft: ['p(90) < 800'] })).toThrow(/not trustworthy[\s\S]*120/)
    expect({ ...v1, clientSaturated: false }).toMeetSlo({ ttft: ['p(90) < 800'] })
    expect(client.saturated).toBe(false)
  })

  test('a saturated client fails unless the user opts out', () => {
    const saturated = { ...run, client: { ...run.client, saturated: true, eventLoopDelayP99Ms: 120 } }
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

describe('toHaveCacheSpeedup: a cold round that was not cold cannot pass', () => {
  // The case: a server whose cache was already warm (no reset): both rounds ~99.7 % cached,
  // and TTFT noise gives a ratio of 2+.
  const warmServer = dualRun(records(40, [230, 240, 250], { cachedTokens: 997, inputTokens: 1000 }), records(40, [95, 100, 105], { cachedTokens: 998, inputTokens: 1000 }), { cacheReset: { attempted: false, ok: false } })

  test('fails when the server reported the cold round over 50 % cached, giving both shares and how to reset', () => {
    expect(() => expect(warmServer).toHaveCacheSpeedup({ atLeast: 2 })).toThrow(/not cold: the server reported 99\.7% of its prompt tokens as cached \(Concurrency4-Round2: 99\.8%\)[\s\S]*--reset-cache[\s\S]*resetCache: true[\s\S]*restart the server/)
    // .not cannot pass on it either.
    expect(() => expect(warmServer).not.toHaveCacheSpeedup({ atLeast: 10 })).toThrow(/cannot be judged either way[\s\S]*NOT COLD/)
  })

  test('passes when the server reported the cold round cold, even without a reset', () => {
    const cold = dualRun(records(40, [400, 500, 600], { cachedTokens: 0 }), records(40, [90, 100, 110], { cachedTokens: 9 }), { cacheReset: { attempted: false, ok: false } })
    expect(cold).toHaveCacheSpeedup({ atLeast: 4 })
  })

  test('no reset and no cached-token counts: "cold round not verified" fails unless the user accepts it', () => {
    const unverified = dualRun(cold, warm, { cacheReset: { attempted: false, ok: false } })
    expect(() => expect(unverified).toHaveCacheSpeedup({ atLeast: 2 })).toThrow(/cold round not verified: no cache reset was made before it[\s\S]*allowUnverifiedColdRound/)
    expect(unverified).toHaveCacheSpeedup({ atLeast: 2, allowUnverifiedColdRound: true })
    const failedReset = dualRun(cold, warm, { cacheReset: { attempted: true, ok: false, url: 'http://h/reset_prefix_cache', message: 'HTTP 404' } })
    expect(() => expect(failedReset).toHaveCacheSpeedup({ atLeast: 2 })).toThrow(/the cache reset at http:\/\/h\/reset_prefix_cache failed \(HTTP 404\)/)
    // A run read from an older run.json has no reset record: not verified either.
    const { cacheReset: _gone, ...oldRound } = run.rounds[0] as RunResult['rounds'][number]
    expect(() => expect({ ...run, rounds: [oldRound, run.rounds[1]] }).toHaveCacheSpeedup({ atLeast: 2 })).toThrow(/no cache reset is recorded/)
  })

  test('names the cold-round requests that failed or timed out as possibly having warmed the cache', () => {
    const timedOut = records(2, [0], { ok: false, ttftMs: null, error: { kind: 'timeout', message: 'timed out' } }).map((r, i) => ({ ...r, id: `c4-r1-${90 + i}` }))
    const withFailures = dualRun([...cold, ...timedOut], warm)
    expect(() => expect(withFailures).toHaveCacheSpeedup({ atLeast: 10 })).toThrow(/2 requests of Concurrency4-Round1 failed or timed out[\s\S]*may have warmed the cache[\s\S]*c4-r1-90 \(timeout\), c4-r1-91 \(timeout\)/)
  })

  test('a round with no successful request gives n/a and fails, never 0.00x', () => {
    const noWarm = dualRun(cold, records(5, [0], { ok: false, ttftMs: null, error: { kind: 'http_error', message: 'HTTP 500' } }))
    const fails = () => expect(noWarm).toHaveCacheSpeedup({ atLeast: 1 })
    expect(fails).toThrow(/ratio n\/a \(no successful requests \(5 failed\) in Concurrency4-Round2\)/)
    expect(fails).not.toThrow(/0\.00x/)
    expect(() => expect(noWarm).not.toHaveCacheSpeedup({ atLeast: 1 })).toThrow(/cannot be judged/)
  })

  test('an unknown option is an error naming the nearest valid one', () => {
    expect(() => expect(run).toHaveCacheSpeedup({ atleast: 2 } as never)).toThrow(/unknown option "atleast" \(did you mean "atLeast"\?\)/)
    expect(() => expect(run).toHaveCacheSpeedup({ atLeast: 2, allowUnverified: true } as never)).toThrow(/did you mean "allowUnverifiedColdRound"/)
    expect(() => expect(run).toHaveCacheSpeedup({ atLeast: 2, metric: 'ttfb' } as never)).toThrow(/unknown metric "ttfb" \(did you mean "ttft"\?\)/)
  })
})

describe('toMeetSlo: SLO keys in either spelling, unknown keys and failed requests', () => {
  test('ttft_ms and ttftMs are the same limit: pass and fail alike', () => {
    expect(run).toMeetSlo({ ttft_ms: 1000 })
    expect(run).toMeetSlo({ ttftMs: 1000, latencyMs: 2000 })
    expect(() => expect(run).toMeetSlo({ ttftMs: 0.001 })).toThrow(/ttft \(ttftMs\)[\s\S]*FAIL/)
    expect(() => expect(run).toMeetSlo({ ttftMs: 100, ttft_ms: 100 })).toThrow(/same limit/)
  })

  test('an unknown SLO key or matcher option is an error naming the nearest valid one', () => {
    // @ts-expect-error -- a misspelt key fails type-checking, and at run time (plain JS, YAML) with a suggestion
    expect(() => expect(run).toMeetSlo({ ttftMS: 1000 })).toThrow(/unknown SLO key "ttftMS" \(did you mean "ttftMs"\?\)/)
    // @ts-expect-error -- as above
    expect(() => expect(run).toMeetSlo({ ttft_msec: 1000 })).toThrow(/unknown SLO key "ttft_msec" \(did you mean "ttft_ms"\?\)/)
    expect(() => expect(run).toMeetSlo({ ttft_ms: 1000 }, { allowSaturated: true } as never)).toThrow(/unknown option "allowSaturated" \(did you mean "allowSaturatedClient"\?\)/)
  })

  test('a failed request fails it unless maxErrorRate or an errorRate term allows it', () => {
    const failing = dualRun(cold, [...warm.slice(0, 38), ...records(2, [0], { ok: false, ttftMs: null, error: { kind: 'timeout', message: 'too slow' } })])
    expect(() => expect(failing).toMeetSlo({ ttft: ['p(90) < 800'] })).toThrow(/Failed requests: 2 of 40 in Concurrency4-Round2 \(timeout: too slow\)[\s\S]*none are allowed/)
    expect(failing).toMeetSlo({ ttft: ['p(90) < 800'] }, { maxErrorRate: 0.05 })
    expect(() => expect(failing).toMeetSlo({ ttft: ['p(90) < 800'] }, { maxErrorRate: 0.01 })).toThrow(/at most a share of 0\.01/)
    expect(failing).toMeetSlo({ ttft: ['p(90) < 800'], errorRate: ['rate < 0.1'] })
    expect(() => expect(failing).toMeetSlo({ ttft: ['p(90) < 800'], errorRate: ['rate < 0.01'] })).toThrow(/errorRate/)
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
    expect(JSON.parse(readFileSync(path, 'utf8')).schemaVersion).toBe(2)
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

  test('a baseline recorded with another configuration is refused, naming each difference with both values; .not too', () => {
    vi.stubEnv('CI', '')
    vi.stubEnv('FLUXPERF_UPDATE_BASELINE', '')
    const path = join(fresh(), 'b.json')
    expect({ ...run, config: { dataset: 'a.jsonl', maxOutputTokens: 8, seed: 1 } }).toNotRegress(path)
    // The case: 64 output tokens against a baseline of 8 is "slower", but not a regression.
    const longer = { ...dualRun(records(40, [800, 1000, 1200]), warm), config: { dataset: 'b.jsonl', maxOutputTokens: 64, seed: 1, endpoint: 'http://elsewhere:8000/v1/chat/completions' } }
    const refused = /Not compared: baseline and run differ in configuration: dataset a\.jsonl → b\.jsonl; maxOutputTokens 8 → 64; re-record the baseline with FLUXPERF_UPDATE_BASELINE=1 or pass \{ allowConfigChange: true \}/
    expect(() => expect(longer).toNotRegress(path)).toThrow(refused)
    expect(() => expect(longer).toNotRegress(path)).not.toThrow(/REGRESSED/)
    expect(() => expect(longer).not.toNotRegress(path)).toThrow(refused)
  })

  test('allowConfigChange compares anyway, with a warning line in the message and a notice for the reporter', ({ task }) => {
    vi.stubEnv('CI', '')
    vi.stubEnv('FLUXPERF_UPDATE_BASELINE', '')
    const path = join(fresh(), 'b.json')
    expect({ ...run, config: { maxOutputTokens: 8 } }).toNotRegress(path)
    const same = { ...run, config: { maxOutputTokens: 64 } }
    expect(same).toNotRegress(path, { allowConfigChange: true })
    expect(task.meta.fluxperf?.notices).toContain(`fluxperf: toNotRegress against ${path}: baseline and run differ in configuration (compared anyway: allowConfigChange): maxOutputTokens 8 → 64`)
    const slower = { ...dualRun(records(40, [800, 1000, 1200]), warm), config: { maxOutputTokens: 64 } }
    expect(() => expect(slower).toNotRegress(path, { allowConfigChange: true })).toThrow(/Warning: baseline and run differ in configuration \(compared anyway: allowConfigChange\): maxOutputTokens 8 → 64\n[\s\S]*REGRESSED/)
    expect(() => expect(run).toNotRegress(path, { allowConfigchange: true } as never)).toThrow(/unknown option "allowConfigchange" \(did you mean "allowConfigChange"\?\)/)
  })

  test('a baseline written or rewritten is a notice for the reporter (a passing matcher\'s message is never shown)', ({ task }) => {
    vi.stubEnv('CI', '')
    vi.stubEnv('FLUXPERF_UPDATE_BASELINE', '')
    const path = join(fresh(), 'b.json')
    expect({ ...run, config: { maxOutputTokens: 8 } }).toNotRegress(path)
    vi.stubEnv('FLUXPERF_UPDATE_BASELINE', '1')
    expect({ ...run, config: { maxOutputTokens: 64 } }).toNotRegress(path)
    expect(task.meta.fluxperf?.notices).toEqual([
      `fluxperf: wrote baseline ${path} (no baseline yet; commit it)`,
      `fluxperf: rewrote baseline ${path} (FLUXPERF_UPDATE_BASELINE=1; configuration changed: maxOutputTokens 8 → 64; commit it)`,
    ])
  })

  test('a missing baseline under CI=true fails with .not too: nothing was compared', () => {
    vi.stubEnv('CI', 'true')
    vi.stubEnv('FLUXPERF_UPDATE_BASELINE', '')
    expect(() => expect(run).not.toNotRegress(join(fresh(), 'missing.json'))).toThrow(/CI=true/)
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

test('failure messages are plain text: no colour codes, whatever the terminal', () => {
  let message = ''
  try {
    expect(run).toMeetSlo({ ttft: ['p(90) < 1'] })
  } catch (error) {
    message = (error as Error).message
  }
  expect(message).toMatch(/^expect\(run\)\.toMeetSlo\(slo\)\n/)
  expect(message).not.toContain('\u001b[')
})
