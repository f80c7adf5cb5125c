/**
 * Trace replay at scale: a 10,000-request trace in 50 shared-prefix groups (Mooncake-shaped: 4 blocks of 16
 * tokens, the first 3 the group's), one request every millisecond, replayed against bench/streamServer.ts in fast
 * mode (a separate process). The figure is the schedule lag (write time − intended time): goal p99 ≤ 2 ms, with
 * every send accounted for. `--precision on` (as the rest of the bench measures the client, and as the CLI runs
 * pinned with `taskset`) or `off` (the library's default). Run in a fresh process by `npm run bench`, once in
 * each mode; prints one JSON line.
 *
 *   node bench/traceBench.ts [--requests 10000] [--gap-ms 1] [--precision on|off]
 */
import { parseArgs } from 'node:util'
import { parseTrace } from '../src/data/index.ts'
import { runTraffic } from '../src/workloads/index.ts'
import { startStreamServer } from './clientBench.ts'

/** What one measurement gives. */
export interface TraceBenchResult {
  precision: 'on' | 'off'
  requests: number
  groups: number
  targetRate: number
  achievedRate: number
  scheduled: number
  sent: number
  dropped: number
  failed: number
  scheduleLagMs: { p50: number; p99: number; max: number }
  eventLoopDelayP99Ms: number
  seconds: number
}

const { values } = parseArgs({ options: { requests: { type: 'string', default: '10000' }, 'gap-ms': { type: 'string', default: '1' }, precision: { type: 'string', default: 'on' } } })
const precision = values.precision
if (precision !== 'on' && precision !== 'off') throw new Error(`--precision: expected on or off, got ${precision}`)
const n = Number(values.requests)
const gap = Number(values['gap-ms'])
const groups = 50
const trace = parseTrace(Array.from({ length: n }, (_, i) => {
  const g = i % groups
  return JSON.stringify({ timestamp: i * gap, input_length: 64, output_length: 8, hash_ids: [g * 3, g * 3 + 1, g * 3 + 2, 100_000 + i] })
}).join('\n'), 'bench')
const server = await startStreamServer(['--mode', 'fast'])
try {
  const started = performance.now()
  const run = await runTraffic({ endpoint: server.url, model: 'bench', seed: 1, trace, traceBlockSize: 16, maxConcurrency: 256, precision })
  const o = run.openLoop!
  const result: TraceBenchResult = {
    precision, requests: n, groups, targetRate: o.targetRate, achievedRate: o.achievedRate, scheduled: o.scheduled, sent: o.sent, dropped: o.dropped, failed: run.rounds[0]!.failed,
    scheduleLagMs: { p50: o.scheduleLag.p50, p99: o.scheduleLag.p99, max: o.scheduleLag.max }, eventLoopDelayP99Ms: run.client.eventLoopDelayP99Ms, seconds: (performance.now() - started) / 1000,
  }
  process.stdout.write(JSON.stringify(result) + '\n')
} finally {
  await server.stop()
}
