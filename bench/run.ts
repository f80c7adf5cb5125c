/**
 * `npm run bench`: micro-benchmarks of the hot paths, then macro benchmarks of the load generator
 * against bench/streamServer.ts (and, for fidelity, bench/timedServer.c), and the mock's own
 * throughput. Prints a table and writes bench-results.json.
 *
 *   npm run bench                      # full: includes 1,000,000 requests for the memory figure
 *   npm run bench -- --quick           # shorter runs (100,000 requests for memory)
 *
 * Pin the server and the client to separate cores, as the targets assume:
 *   SERVER_CPU=1 MOCK_CPU=1 taskset -c 0 npm run bench
 *
 * The client is measured at its best: in precision mode 'on' (docs/design/precision.md), entered by the
 * first measurement of each process and undone before it ends; what it changed is in the output JSON.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { benchPrecision, commandNodeFlags, leaveBenchPrecision, measureChunks, measureCliFidelity, measureFloorFidelity, measureOpenLoop, startStreamServer, startTimedServerC } from './clientBench.ts'
import type { ChunkResult, CliFidelityResult, CliScaleResult, FidelityResult, FloorFidelityResult, MemoryResult, NodeFloorResult, OpenLoopResult } from './clientBench.ts'
import { measureVitestFidelity } from './vitestFidelity.ts'
import { runMicro } from './micro.ts'
import type { ReportBenchResult } from './reportBench.ts'
import type { TraceBenchResult } from './traceBench.ts'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string', default: 'bench-results.json' } } })
const quick = values.quick
const duration = quick ? 3 : 8
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  pinned: { client: process.env['SERVER_CPU'] ? 'taskset by caller' : 'no', server: process.env['SERVER_CPU'] ?? 'no' },
}
const log = (line: string): void => void process.stdout.write(line + '\n')
/** Collects the previous phase's garbage so its major GC does not land in the next measurement (`npm run bench` starts Node with --expose-gc). */
const settle = (): void => (globalThis as { gc?: () => void }).gc?.()

log('micro-benchmarks (tinybench)')
const micro = await runMicro()
results['micro'] = micro
for (const r of micro) log(`  ${r.name.padEnd(52)} ${r.nsPerOp.toFixed(0).padStart(8)} ns/op${r.chunksPerS ? `  ${(r.chunksPerS / 1e6).toFixed(2)} M chunks/s, ${r.mbPerS?.toFixed(0)} MB/s` : ''}`)

const fast = await startStreamServer(['--mode', 'fast'])
const chunks: ChunkResult[] = []
try {
  log('\nstreaming throughput (closed loop, fluxperf request path, content chunks parsed and timestamped)')
  // Precision mode 'on' is entered by the first measurement, for this process (clientBench.ts).
  for (const [concurrency, tokens] of [[64, 64], [512, 64], [64, 1]] as const) {
    settle()
    const r = await measureChunks(fast.url, concurrency, duration, tokens)
    chunks.push(r)
    log(`  ${String(concurrency).padStart(4)} streams × ${String(tokens).padStart(2)} tokens: ${Math.round(r.chunksPerS).toLocaleString('en-US').padStart(9)} chunks/s  ${Math.round(r.requestsPerS).toLocaleString('en-US').padStart(7)} req/s  CPU ${r.clientCpuMsPerKChunks.toFixed(2)} ms/1k chunks  event-loop p99 ${r.eventLoopDelayP99Ms.toFixed(1)} ms  failed ${r.failed}`)
  }
} finally {
  await fast.stop()
}
results['throughput'] = chunks

const timed = await startStreamServer(['--mode', 'timed'])
const fidelity: FidelityResult[] = []
const cliFidelity: CliFidelityResult[] = []
const cliFidelityC: CliFidelityResult[] = []
/** One round of a `fluxperf run` fidelity measurement, as a table cell. */
const cliRound = (x: CliFidelityResult['rounds'][number]): string =>
  `round ${x.round}: TTFT error p99 ${x.ttftErrorMs.p99.toFixed(2)}, ITL error p50 ${x.itlErrorMs.p50.toFixed(2)} / p99 ${x.itlErrorMs.p99.toFixed(2)} ms, last chunk > 1 ms late ${x.lateLastChunks} (failed ${x.failed})`
const floor: FloorFidelityResult[] = []
const nodeFloor: NodeFloorResult[] = []
const vitestFidelity: CliFidelityResult[] = []
try {
  // Each in a fresh process, as a user's run is: after the saturated throughput phases, this process's
  // old generation reached its limit during a 1,000-stream burst, and the marking (~26 ms of the loop's
  // time in 37 ms) showed up as a 30–45 ms ITL error that no fresh client has.
  log('\ntiming fidelity (truth: TTFT 200 ms from the request\'s arrival at the server, ITL 20 ms, 64 tokens; error = |measured − server-stamped|; a fresh process each)')
  for (const streams of [1, 100, 1000]) {
    const r = JSON.parse(execFileSync(process.execPath, [...commandNodeFlags(), '--expose-gc', fileURLToPath(new URL('./clientBench.ts', import.meta.url)), 'fidelity', '--streams', String(streams)], { encoding: 'utf8' })) as FidelityResult
    fidelity.push(r)
    log(`  ${String(streams).padStart(4)} streams: TTFT error p50 ${r.ttftErrorMs.p50.toFixed(2)} / p99 ${r.ttftErrorMs.p99.toFixed(2)} ms, ITL error p50 ${r.itlErrorMs.p50.toFixed(2)} / p99 ${r.itlErrorMs.p99.toFixed(2)} ms (vs injected TTFT: p99 ${r.ttftErrorVsInjectedMs.p99.toFixed(2)} ms), client CPU ${r.clientCpuUsPerChunk.toFixed(1)} µs per one-chunk packet, ${r.memory.perStreamKb.toFixed(1)} KB RSS per open stream, pool warm-up ${r.preconnectMs.toFixed(0)} ms, uncertain truth ${r.uncertainTruthItls} gaps, failed ${r.failed}`)
  }
  log('\ntiming fidelity through `fluxperf run` (a process of its own, tokenizer loaded, --save-requests, 200-word prompts; round 1 is the process\'s first)')
  for (const streams of [100, 1000]) {
    const r = await measureCliFidelity(timed, streams)
    cliFidelity.push(r)
    log(`  ${String(streams).padStart(4)} streams: ${r.rounds.map(cliRound).join('; ')}`)
  }
  log('\nthe same against bench/timedServer.c (C; head with the first token, each stream\'s end with its last token)')
  for (const streams of [100, 1000]) {
    let server
    try {
      server = await startTimedServerC()
    } catch (error) {
      log(`  skipped: ${(error as Error).message}`)
      break
    }
    try {
      const r = await measureCliFidelity(server, streams)
      cliFidelityC.push(r)
      log(`  ${String(streams).padStart(4)} streams: ${r.rounds.map(cliRound).join('; ')}`)
    } finally {
      await server.stop()
    }
  }
  log('\nthe same through `vitest bench` (bench/vitestFidelity.ts: a user\'s project, the fluxperf() plugin, dualRound, precision off) against bench/timedServer.c')
  for (const streams of [100, 1000]) {
    try {
      const r = await measureVitestFidelity(streams)
      vitestFidelity.push(r)
      log(`  ${String(streams).padStart(4)} streams: ${r.rounds.map(cliRound).join('; ')}`)
    } catch (error) {
      log(`  skipped: ${(error as Error).message}`)
      break
    }
  }
  log('\nthe machine\'s floor: the same truth read by bench/floorClient.c (C, epoll, one stamp per read, no parsing)')
  for (const streams of [100, 1000]) {
    try {
      const r = await measureFloorFidelity(timed.url, streams)
      floor.push(r)
      log(`  ${String(streams).padStart(4)} streams: TTFT error p99 ${r.ttftErrorMs.p99.toFixed(2)}, ITL error p50 ${r.itlErrorMs.p50.toFixed(2)} / p99 ${r.itlErrorMs.p99.toFixed(2)} ms, client CPU ${r.clientCpuUsPerChunk.toFixed(1)} µs per one-chunk packet, ${r.readUsPerChunk?.toFixed(1)} µs of it reading, ${r.readyPerPoll?.toFixed(2)} ready sockets per poll (failed ${r.failed})`)
    } catch (error) {
      log(`  skipped: ${(error as Error).message}`)
      break
    }
  }
  // The same client never sleeping: what a packet costs this VM with no wake-up at all, the floor under
  // issue 24's per-packet target (bench/clientBench.ts floor --busy-poll).
  if (floor.length > 0) {
    try {
      const r = await measureFloorFidelity(timed.url, 1000, 200, 20, 64, true)
      floor.push(r)
      log(`  1000 streams, never sleeping: ${r.readUsPerChunk?.toFixed(1)} µs reading per one-chunk packet (its CPU is its wall time), ${r.readyPerPoll?.toFixed(2)} ready sockets per poll, ITL error p99 ${r.itlErrorMs.p99.toFixed(2)} ms (failed ${r.failed})`)
    } catch (error) {
      log(`  never sleeping: skipped: ${(error as Error).message}`)
    }
  }
  // What Node itself costs per packet, in the same precision mode and a fresh process as `fidelity`: the floor
  // under fluxperf's CPU figure (bench/clientBench.ts node-floor).
  log('\nthe runtime\'s floor: the same truth read by a Node client that only reads (net.Socket onread, one stamp per read, no parsing; a fresh process)')
  for (const streams of [1000]) {
    const r = JSON.parse(execFileSync(process.execPath, [...commandNodeFlags(), '--expose-gc', fileURLToPath(new URL('./clientBench.ts', import.meta.url)), 'node-floor', '--streams', String(streams)], { encoding: 'utf8' })) as NodeFloorResult
    nodeFloor.push(r)
    log(`  ${String(streams).padStart(4)} streams: TTFT error p99 ${r.ttftErrorMs.p99.toFixed(2)}, ITL error p50 ${r.itlErrorMs.p50.toFixed(2)} / p99 ${r.itlErrorMs.p99.toFixed(2)} ms, client CPU ${r.clientCpuUsPerChunk.toFixed(1)} µs per one-chunk packet, ${r.reads} reads (failed ${r.failed})`)
  }
} finally {
  await timed.stop()
}
results['fidelity'] = fidelity
results['fidelityCli'] = cliFidelity
results['fidelityCliTimedServerC'] = cliFidelityC
results['floor'] = floor
results['nodeFloor'] = nodeFloor
results['fidelityVitest'] = vitestFidelity

const openServer = await startStreamServer(['--mode', 'fast'])
let openLoop: OpenLoopResult
try {
  const seconds = quick ? 10 : 60
  log(`\nopen loop: 1,000 requests/s for ${seconds} s (8-token answers); lag = write time − intended time`)
  settle()
  openLoop = await measureOpenLoop(openServer.url, 1000, seconds)
  log(`  achieved ${openLoop.achievedRate.toFixed(2)} req/s (${(((openLoop.achievedRate - 1000) / 1000) * 100).toFixed(2)} %), sent ${openLoop.sent}, failed ${openLoop.failed}, schedule lag p50 ${openLoop.scheduleLagMs.p50.toFixed(2)} / p99 ${openLoop.scheduleLagMs.p99.toFixed(2)} / max ${openLoop.scheduleLagMs.max.toFixed(2)} ms, event-loop p99 ${openLoop.eventLoopDelayP99Ms.toFixed(1)} ms`)
} finally {
  await openServer.stop()
}
results['openLoop'] = openLoop
// Measured in precision mode 'on' (the children that measure fidelity and memory enter it too); undone now.
results['precision'] = benchPrecision()?.summary()
await leaveBenchPrecision()

// In a fresh process, so the earlier phases' heap does not count.
const n = quick ? 100_000 : 1_000_000
const nodeFlags = commandNodeFlags()
log(`\nmemory: ${n.toLocaleString('en-US')} one-token requests in a fresh process (node ${nodeFlags.join(' ')}, as bin/fluxperf.mjs), records streamed to JSONL (/dev/null), distributions in histograms`)
const memory = JSON.parse(execFileSync(process.execPath, [...nodeFlags, fileURLToPath(new URL('./clientBench.ts', import.meta.url)), 'memory', '--requests', String(n), '--concurrency', '64'], { encoding: 'utf8' })) as MemoryResult
log(`  ${memory.seconds.toFixed(1)} s, ${Math.round(memory.requestsPerS).toLocaleString('en-US')} req/s, RSS ${memory.rssStartMb.toFixed(0)} → peak ${memory.rssPeakMb.toFixed(0)} MB, heap peak ${memory.heapPeakMb.toFixed(0)} MB, failed ${memory.failed}`)
results['memory'] = memory

// The command users run, at scale: fresh processes, against bench/timedServer.c answering at once.
const scaleRequests = quick ? 200_000 : 1_000_000
log(`\nthe CLI at scale: ${scaleRequests.toLocaleString('en-US')} one-token requests through \`fluxperf run --concurrency 64\` (a dual round), beside the library path against the same server (bench/clientBench.ts cli-scale)`)
try {
  const scale = JSON.parse(execFileSync(process.execPath, [fileURLToPath(new URL('./clientBench.ts', import.meta.url)), 'cli-scale', '--requests', String(scaleRequests)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })) as CliScaleResult
  const rate = (x: number): string => Math.round(x).toLocaleString('en-US')
  log(`  library path, before and after the CLI runs: ${rate(scale.library.requestsPerS)} and ${rate(scale.libraryAfter.requestsPerS)} req/s (shares below are of their mean), RSS peak ${scale.library.rssPeakMb.toFixed(0)} and ${scale.libraryAfter.rssPeakMb.toFixed(0)} MB`)
  for (const c of scale.cli) {
    const share = c.roundRequestsPerS.map((x) => `${rate(x)} (${((x / scale.libraryRequestsPerS) * 100).toFixed(0)} %)`).join(' / ')
    log(`  fluxperf run${c.saveRequests ? ' --save-requests' : ''}: rounds ${share} req/s, RSS peak ${c.rssPeakMb.toFixed(0)} MB, reports done ${c.reportsS.toFixed(2)} s after the last request, ${c.wallS.toFixed(1)} s in all, failed ${c.failed}`)
  }
  results['cliScale'] = scale
} catch (error) {
  log(`  skipped: ${(error as Error).message.split('\n')[0]}`)
}

// In a fresh process too: 1,000,000 saved requests are read into memory to build the timeline.
const reportRequests = quick ? 100_000 : 1_000_000
log(`\nHTML report of a run with ${reportRequests.toLocaleString('en-US')} saved requests (bench/reportBench.ts): build in Node, open and draw in Chromium`)
const report = JSON.parse(execFileSync(process.execPath, [fileURLToPath(new URL('./reportBench.ts', import.meta.url)), '--requests', String(reportRequests)], { encoding: 'utf8' })) as ReportBenchResult
log(`  build and write ${report.buildAndWriteS.toFixed(1)} s, ${report.htmlMb.toFixed(1)} MB; ${report.openAndDrawS === null ? 'open and draw: SKIPPED (no chromium installed)' : `open and draw ${report.openAndDrawS.toFixed(2)} s in ${report.browser}`}`)
results['report'] = report

log('\ntrace replay (bench/traceBench.ts): 10,000 requests in 50 shared-prefix groups, one per ms; lag = request start − intended time')
// Precision 'on' as every measurement here (and the CLI pinned with taskset); 'off' is what a library caller gets.
for (const precision of ['on', 'off'] as const) {
  const traceRun = JSON.parse(execFileSync(process.execPath, [fileURLToPath(new URL('./traceBench.ts', import.meta.url)), '--requests', quick ? '5000' : '10000', '--precision', precision], { encoding: 'utf8' })) as TraceBenchResult
  log(`  precision ${precision}: ${traceRun.sent.toLocaleString('en-US')} of ${traceRun.scheduled.toLocaleString('en-US')} sent (${traceRun.dropped} dropped, ${traceRun.failed} failed) at ${traceRun.achievedRate.toFixed(1)}/s of ${traceRun.targetRate.toFixed(1)}/s; schedule lag p50 ${traceRun.scheduleLagMs.p50.toFixed(2)} / p99 ${traceRun.scheduleLagMs.p99.toFixed(2)} / max ${traceRun.scheduleLagMs.max.toFixed(2)} ms${precision === 'on' ? ' (goal p99 ≤ 2 ms)' : ''}`)
  results[precision === 'on' ? 'traceReplay' : 'traceReplayPrecisionOff'] = traceRun
}

log('\nthe mock serving engine (bench/mockThroughput.ts)')
const mockLine = execFileSync(process.execPath, [fileURLToPath(new URL('./mockThroughput.ts', import.meta.url)), '--duration', String(quick ? 3 : 5)], { encoding: 'utf8' }).trim()
results['mock'] = mockLine
log(`  ${mockLine}`)

writeFileSync(values.out, JSON.stringify(results, null, 2) + '\n')
log(`\nwrote ${values.out}`)
