import { describe, expect, test } from 'vitest'
import { hasTaskset, linux, ON_CPU_0, runNode, srcModule } from '../client/precision/processState.ts'

/**
 * A library call (and so a Vitest benchmark, whose setup file only sets the endpoint) leaves the process's
 * threads and their scheduling as it found them: precision mode is off unless asked for (issue 20). Run in a
 * fresh Node confined to CPU 0, where precision `auto` or `on` would change scheduling, so the same test
 * with precision asked for shows what the default must not do.
 */

interface Outcome {
  before: { tid: string; comm: string; policy: number }[]
  after: { tid: string; comm: string; policy: number }[]
  precision: { mode: string; active: boolean; changes: string[]; refused: string[] }
  warmedUp: boolean
  gc: string
  requests: number
}

function libraryCall(precision?: 'on'): Outcome {
  return runNode<Outcome>(`
    const { dualRound, startMockServer } = await import(${srcModule('index.ts')})
    const mock = await startMockServer({ port: 0 })
    const before = tasks()
    const run = await dualRound({
      endpoint: mock.url + '/v1/chat/completions', dataset: [{ sessionId: 's', userMessages: ['hello'], source: 'test' }],
      concurrency: [1], maxOutputTokens: 4, seed: 1, ${precision ? `precision: '${precision}',` : ''}
    })
    await mock.close()
    // A thread that ends (the spinner) may take a moment to leave /proc.
    for (let i = 0; i < 50 && tasks().some((t) => t.comm === 'fluxperf-spin'); i++) await new Promise((r) => setTimeout(r, 20))
    const after = tasks()
    console.log(JSON.stringify({ before, after, precision: run.client.precision, warmedUp: run.client.warmedUp, gc: typeof globalThis.gc, requests: run.rounds.reduce((n, r) => n + r.total, 0) }))
  `, hasTaskset ? ON_CPU_0 : [])
}

/** The threads that existed before the call, with their policies now; threads Node started meanwhile (libuv's pool) are not ours. */
function survivors(outcome: Outcome): { tid: string; comm: string; policy: number }[] {
  const tids = new Set(outcome.before.map((t) => t.tid))
  return outcome.after.filter((t) => tids.has(t.tid))
}

describe.skipIf(!linux)('a library call leaves the process as it found it', () => {
  test('by default: precision off, no thread left behind, every policy unchanged, no gc global', () => {
    const outcome = libraryCall()
    expect(outcome.requests).toBe(2)
    expect(outcome.precision).toEqual({ mode: 'off', active: false, changes: [], refused: [] })
    expect(survivors(outcome)).toEqual(outcome.before)
    expect(outcome.after.filter((t) => t.comm === 'fluxperf-spin')).toEqual([])
    expect(outcome.after.every((t) => t.policy === 0 || outcome.before.some((b) => b.tid === t.tid && b.policy === t.policy))).toBe(true)
    expect(outcome.gc).toBe('undefined')
  })

  test.skipIf(!hasTaskset)('asked for, precision changes the process during the run and undoes it when the run ends', () => {
    if (!hasTaskset) console.warn('SKIPPED: taskset (util-linux) is missing, so no process can be confined to one CPU here')
    const outcome = libraryCall('on')
    expect(outcome.precision.mode).toBe('on')
    expect(outcome.precision.active).toBe(true)
    // The warm-up and V8 tuning are changes wherever it runs; scheduling ones need CAP_SYS_NICE (or are refused, and said so).
    expect(outcome.precision.changes.length).toBeGreaterThan(0)
    // Precision's own warm-up is the run's (FLUXPERF_NO_WARM_CLIENT, set for this suite, does not turn it off).
    expect(outcome.warmedUp).toBe(true)
    expect(survivors(outcome)).toEqual(outcome.before)
    expect(outcome.after.filter((t) => t.comm === 'fluxperf-spin')).toEqual([])
  })
})
