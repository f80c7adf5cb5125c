/**
 * Macro benchmarks of the load generator against bench/streamServer.ts (a child process with known
 * timing). Each scenario drives fluxperf's own request path (sendRequest → RequestRecord → histograms).
 *
 *   npx node bench/clientBench.ts chunks --concurrency 64 --duration 5
 *   npx node bench/clientBench.ts fidelity --streams 100
 *   npx node bench/clientBench.ts fidelity-cli --streams 1000     # the same through `fluxperf run`
 *   npx node bench/clientBench.ts fidelity-cli --streams 1000 --no-usage   # a server that reports no usage
 *   npx node bench/clientBench.ts fidelity-cli --streams 1000 --server c   # against bench/timedServer.c (needs cc)
 *   npx node bench/clientBench.ts fidelity-cli --streams 1000 --ttft 50 --itl 10 --tokens 128   # another truth
 *   npx node bench/clientBench.ts fidelity-cli --streams 1000 --server c --max-output-tokens 1024   # as users ask: max_tokens far above the answer
 *   npx node bench/clientBench.ts floor --streams 1000            # the same by a minimal C client (needs cc)
 *   npx node bench/clientBench.ts floor --streams 1000 --busy-poll   # that client never sleeping: a packet's cost without the wake-up
 *   npx node bench/clientBench.ts node-floor --streams 1000       # the same by a minimal Node client (reads only)
 *   npx node bench/clientBench.ts memory --requests 1000000
 *   npx node bench/clientBench.ts cli-scale --requests 1000000      # through `fluxperf run`, between two runs of the library path (needs cc)
 *   npx node bench/clientBench.ts openloop --rate 1000 --duration 60
 *
 * Pin the two sides to separate cores: `SERVER_CPU=1 taskset -c 0 npx node bench/clientBench.ts ...`.
 * Each process measures in precision mode 'on' (enterBenchPrecision; BENCH_PRECISION=off measures without it),
 * and says on stderr what it changed.
 */
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createInterface } from 'node:readline'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { enterPrecision, openEndpoint, requestContext, sendRequest } from '../src/client/index.ts'
import type { ApiKind, Endpoint, Precision, RequestContext } from '../src/client/index.ts'
import { SPINNER_THREAD_NAME } from '../src/client/precision/spinner.ts'
import { MetricRecorder, RoundAccumulator } from '../src/metrics/index.ts'
import { JsonlWriter } from '../src/report/index.ts'
import { createRandom } from '../src/random.ts'
import { arrivalOffsets, runOpenLoop } from '../src/schedule/index.ts'
import { getTokenizer } from '../src/tokens/index.ts'
import type { MetricSummary, RequestRecord } from '../src/types.ts'

export interface ServerHandle {
  url: string
  /**
   * What the server stamped, once the client is done: per truth id and round (a workload's second
   * round sends the same prompts again). May stop the server to read its stamps.
   */
  truthAfterRun(): Promise<TruthOf>
  stop(): Promise<void>
}

/** The server's stamps for one request id in one round (1, 2), or null when it has none. */
export type TruthOf = (id: string, round: number) => Promise<Truth | null>

/** Starts bench/streamServer.ts in a child process (pinned with taskset when SERVER_CPU is set). */
export async function startStreamServer(args: string[]): Promise<ServerHandle> {
  const file = fileURLToPath(new URL('./streamServer.ts', import.meta.url))
  // A young generation large enough that the server does not collect during a measured burst: a
  // pause between a write and its truth stamp would be counted as the client's error.
  const { child, line } = await startServerProcess([process.execPath, '--min-semi-space-size=64', '--max-semi-space-size=64', file, ...args], 'stream server')
  const { port } = JSON.parse(line) as { port: number }
  const url = `http://127.0.0.1:${port}/v1/chat/completions`
  return {
    url,
    // The server files a repeated id (round 2 sends the same prompts) as `<id>#2`.
    truthAfterRun: async () => (id, round) => fetchTruth(url, round === 2 ? `${id}#2` : id),
    stop: () => stopChild(child),
  }
}

/**
 * Compiles and starts bench/timedServer.c (pinned with taskset when SERVER_CPU is set): a second,
 * independent server with known timing, in C, answering as vLLM does (head with the first token, each
 * stream's end in the same write as its last token). Its stamps are read from its log once stopped.
 */
export async function startTimedServerC(ttft = 200, itl = 20, tokens = 64): Promise<ServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'fluxperf-timed-'))
  const binary = join(dir, 'timedServer')
  try {
    await promisify(execFile)('cc', ['-O2', '-o', binary, fileURLToPath(new URL('./timedServer.c', import.meta.url))])
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`--server c compiles bench/timedServer.c with cc, which failed: ${(error as Error).message.split('\n')[0]}`)
  }
  const log = join(dir, 'truth.log')
  const { child, line: port } = await startServerProcess([binary, String(ttft), String(itl), String(tokens), log], 'bench/timedServer.c')
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => (stopped ??= stopChild(child))
  return {
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    truthAfterRun: async () => {
      await stop()
      const truths = new Map<string, Truth[]>()
      for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
        const [id = '', arrived = '0', ...stamps] = line.split(' ')
        const before = stamps.filter((_, i) => i % 2 === 0).map(Number)
        const writes = stamps.filter((_, i) => i % 2 === 1).map(Number)
        const list = truths.get(id) ?? []
        list.push({ arrived: Number(arrived), writes, spans: writes.map((w, i) => w - (before[i] as number)) })
        truths.set(id, list)
      }
      rmSync(dir, { recursive: true, force: true })
      // Lines come in the order requests finished: round 1's before round 2's.
      return async (id, round) => truths.get(id)?.[round - 1] ?? null
    },
    stop: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Starts a server (on CPU SERVER_CPU when set, with taskset) and waits for the first line it prints. */
async function startServerProcess(command: string[], name: string): Promise<{ child: ChildProcess; line: string }> {
  const cpu = process.env['SERVER_CPU']
  const argv = cpu === undefined ? command : ['taskset', '-c', cpu, ...command]
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)))
  })
  return { child, line }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

async function contextFor(url: string, connections: number, headers: Record<string, string> = {}): Promise<{ ctx: RequestContext; endpoint: Endpoint }> {
  const endpoint = openEndpoint({ url, connections, timeoutMs: 120_000, headers })
  const tokenizer = process.env['BENCH_TIKTOKEN'] || noUsage ? await getTokenizer() : noTokenizer
  const ctx = requestContext(endpoint, { model: 'bench', maxTokens: 64 }, tokenizer)
  // As a run does (workloads/run.ts): precision mode, whose warm-up optimises the per-chunk path before anything is measured.
  await enterBenchPrecision(endpoint.kind, ctx)
  return { ctx, endpoint }
}

let precision: Promise<Precision> | undefined
let entered: Precision | undefined

/**
 * Precision mode `on` (or BENCH_PRECISION's), entered once per process with the first measurement's context
 * (its warm-up copies that shape): the bench measures the client at its best. Says what it changed on stderr
 * (stdout carries a scenario's JSON). leaveBenchPrecision() undoes it.
 */
async function enterBenchPrecision(kind: ApiKind, ctx: RequestContext): Promise<Precision> {
  precision ??= enterPrecision({ mode: benchPrecisionMode(), context: ctx, kind, notice: (m) => void (entered && process.stderr.write(`bench: ${m}\n`)) }).then((p) => {
    process.stderr.write(`bench: ${p.describe()}\n`)
    return (entered = p)
  })
  return precision
}

/** The precision mode an in-process scenario measures in: `on`, unless BENCH_PRECISION says `off` or `auto`. */
function benchPrecisionMode(): 'on' | 'off' | 'auto' {
  const mode = process.env['BENCH_PRECISION'] ?? 'on'
  if (mode !== 'on' && mode !== 'off' && mode !== 'auto') throw new Error(`BENCH_PRECISION: expected on, off or auto, got ${JSON.stringify(mode)}`)
  return mode
}

/** The precision mode this process measures in, once a measurement has entered it. */
export function benchPrecision(): Precision | undefined {
  return entered
}

/** Undoes precision mode (thread classes, the spinning thread, V8's flags). */
export async function leaveBenchPrecision(): Promise<void> {
  await (await precision)?.dispose()
}

/**
 * CPU time (ms) of precision mode's spinning thread (found by its name): it only fills the core's idle
 * time, so the client's CPU figures leave it out. 0 where none runs.
 */
function spinnerCpuMs(): number {
  let ms = 0
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== SPINNER_THREAD_NAME) continue
        ms += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
      } catch {
        // the thread has ended
      }
    }
  } catch {
    // no /proc
  }
  return ms
}

/** Where a CPU measurement starts: the process's CPU time, and the spinning thread's. */
function cpuStart(): { usage: NodeJS.CpuUsage; spinMs: number } {
  return { usage: process.cpuUsage(), spinMs: spinnerCpuMs() }
}

/** The client's CPU time (µs) since `start`, without the spinning thread's. */
function cpuSince(start: { usage: NodeJS.CpuUsage; spinMs: number }): number {
  const usage = process.cpuUsage(start.usage)
  return usage.user + usage.system - (spinnerCpuMs() - start.spinMs) * 1000
}

/** The bench server reports usage (unless --no-usage, which loads the real tokenizer): never consulted. */
let noUsage = false
const noTokenizer = { encoding: 'o200k_base' as const, encode: () => [], decode: () => '', count: () => 0, countLater: async () => 0, truncate: (t: string) => t }

const MESSAGES = [{ role: 'user' as const, content: 'bench' }]
let seq = 0
function meta(concurrency: number) {
  const i = seq++
  return { id: `b${i}`, index: i, sessionId: 'b', turnIndex: 0, round: 1, concurrency }
}

/** Opens `n` connections before the clock starts (n concurrent 1-token requests), so TTFT excludes connection set-up. */
async function preconnect(ctx: RequestContext, n: number, tokens = 1): Promise<number> {
  const t0 = performance.now()
  const warm = { ...ctx, headers: { ...ctx.headers, 'x-bench-tokens': String(tokens), 'x-bench-ttft': '0' } }
  await Promise.all(Array.from({ length: n }, () => sendRequest(warm, MESSAGES, meta(n))))
  return performance.now() - t0
}

export interface ChunkResult {
  concurrency: number
  tokensPerRequest: number
  chunksPerS: number
  requestsPerS: number
  failed: number
  clientCpuMsPerKChunks: number
  eventLoopDelayP99Ms: number
}

/** Closed loop at `concurrency` for `durationS`: content chunks parsed and timestamped per second. */
export async function measureChunks(url: string, concurrency: number, durationS: number, tokens: number): Promise<ChunkResult> {
  const { ctx, endpoint } = await contextFor(url, concurrency, { 'x-bench-tokens': String(tokens) })
  await preconnect(ctx, concurrency)
  // As a run does just before its clock starts.
  await benchPrecision()?.beforeClock()
  const loop = monitorEventLoopDelay({ resolution: 5 })
  const acc = new RoundAccumulator({ label: 'bench', concurrency, round: 1 })
  let chunks = 0
  let requests = 0
  let failed = 0
  const stopAt = performance.now() + durationS * 1000
  const cpu0 = cpuStart()
  const t0 = performance.now()
  loop.enable()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < stopAt) {
      const r = await sendRequest(ctx, MESSAGES, meta(concurrency))
      acc.add(r)
      chunks += r.chunkOffsetsMs.length
      requests++
      if (!r.ok) failed++
    }
  }))
  loop.disable()
  const elapsedS = (performance.now() - t0) / 1000
  const cpuUs = cpuSince(cpu0)
  acc.finish()
  await endpoint.close()
  return {
    concurrency,
    tokensPerRequest: tokens,
    chunksPerS: chunks / elapsedS,
    requestsPerS: requests / elapsedS,
    failed,
    clientCpuMsPerKChunks: chunks ? (cpuUs / 1000 / chunks) * 1000 : 0,
    eventLoopDelayP99Ms: loop.percentile(99) / 1e6,
  }
}

export interface FidelityResult {
  streams: number
  ttftTruthMs: number
  itlTruthMs: number
  tokens: number
  preconnectMs: number
  /** |measured − injected| TTFT: includes the server's own lateness in accepting a burst of requests. */
  ttftErrorVsInjectedMs: MetricSummary
  /**
   * |measured − server's| TTFT, the server's being from the request's arrival to its first write: the client's
   * own error, its send path included.
   */
  ttftErrorMs: MetricSummary
  /** |measured − (first write − the client's start stamp)|: the way back alone, without the send path. */
  ttftErrorFromWriteMs: MetricSummary
  /** |measured gap − server-stamped gap| for every inter-chunk gap. */
  itlErrorMs: MetricSummary
  /**
   * Gaps whose truth is uncertain by over 0.25 ms: the server's two writes took that long together
   * (it was descheduled between writing and stamping). Their error is the server's as much as the
   * client's; they are still counted in itlErrorMs.
   */
  uncertainTruthItls: number
  /** Streams whose last chunk was stamped over 1 ms late. */
  lateLastChunks: number
  /** Client CPU (user + system) over the measured streams per content chunk; here one chunk per packet. */
  clientCpuUsPerChunk: number
  /**
   * The process's RSS before its connections opened, and at its peak while every stream was open (sampled
   * every 20 ms, the records held until the end); perStreamKb is their difference over the streams:
   * connection, request, stream state and record together.
   */
  memory: { baselineRssMb: number; peakRssMb: number; perStreamKb: number }
  failed: number
}

const mb = (bytes: number): number => bytes / 1024 / 1024

/**
 * `streams` concurrent requests against a server that answers with TTFT and ITL of known truth. The
 * server stamps the epoch time of each chunk it writes; the client's error is its measurement minus
 * that truth (startedAt and the server's stamps share the machine's clock).
 */
export async function measureFidelity(url: string, streams: number, ttft = 200, itl = 20, tokens = 64): Promise<FidelityResult> {
  const { ctx, endpoint } = await contextFor(url, streams, { 'x-bench-tokens': String(tokens), 'x-bench-ttft': String(ttft), 'x-bench-itl': String(itl) })
  // No collection forced here: a full collection after precision mode's warm-up threw its optimised code away
  // (~95 functions, "embedded weak objects cleared" in --trace-deopt), so the measured burst ran half cold:
  // client CPU per packet up by a fifth, and in about half the runs an ITL error p99 of 20-50 ms.
  // Precision mode collected before its warm-up. Why: docs/performance.md (2026-12-06, a collection after the warm-up).
  const baselineRss = process.memoryUsage.rss()
  const preconnectMs = await preconnect(ctx, streams)
  // Warm the streaming path (JIT) before the measured burst.
  for (let i = 0; i < 3; i++) await preconnect({ ...ctx, headers: { ...ctx.headers, 'x-bench-ttft': '0', 'x-bench-itl': '0' } }, Math.min(streams, 64), 16)
  const vsInjected = new MetricRecorder()
  const errors = new TruthErrors()
  const runId = `f${Date.now()}`
  const cpu0 = cpuStart()
  const sent = Array.from({ length: streams }, (_, i) =>
    sendRequest({ ...ctx, headers: { ...ctx.headers, 'x-bench-id': `${runId}-${i}` } }, MESSAGES, meta(streams)))
  // As a round does once its first requests are out (precision mode's afterBurst).
  benchPrecision()?.afterBurst()
  let peakRss = process.memoryUsage.rss()
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 20)
  const records = await Promise.all(sent)
  const cpuUs = cpuSince(cpu0)
  clearInterval(sampler)
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
  const memory = { baselineRssMb: mb(baselineRss), peakRssMb: mb(peakRss), perStreamKb: (peakRss - baselineRss) / 1024 / streams }
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as RequestRecord
    if (errors.add(r, await fetchTruth(url, `${runId}-${i}`)) && r.ttftMs !== null) vsInjected.record(Math.abs(r.ttftMs - ttft))
  }
  await endpoint.close()
  return { streams, ttftTruthMs: ttft, itlTruthMs: itl, tokens, preconnectMs, ttftErrorVsInjectedMs: vsInjected.summary(), ...errors.summary(), clientCpuUsPerChunk: cpuUs / (streams * tokens), memory }
}

/** A client's TTFT and ITL errors against the server's truth, over the records of one measurement. */
export class TruthErrors {
  private readonly ttft = new MetricRecorder()
  private readonly ttftFromWrite = new MetricRecorder()
  private readonly itl = new MetricRecorder()
  private uncertain = 0
  private lateLast = 0
  private failed = 0

  /** Adds one record; false (counted as failed) when it or its truth is missing or incomplete. */
  add(r: Pick<RequestRecord, 'ok' | 'ttftMs' | 'startedAt' | 'chunkOffsetsMs'>, truth: Truth | null): boolean {
    if (!r.ok || r.ttftMs === null || !truth || truth.writes.length !== r.chunkOffsetsMs.length) {
      this.failed++
      return false
    }
    // The truth is the server's TTFT from the request's arrival: the client's send path (dispatch stamp to
    // arrival) counts as error, as does the way back (first write to the client's stamp).
    this.ttft.record(Math.abs(r.ttftMs - ((truth.writes[0] as number) - truth.arrived)))
    // The way back alone, as the bench measured before issue 24: the stamp of the first write against the client's.
    this.ttftFromWrite.record(Math.abs(r.ttftMs - ((truth.writes[0] as number) - r.startedAt)))
    const o = r.chunkOffsetsMs
    for (let k = 1; k < o.length; k++) {
      this.itl.record(Math.abs((o[k] as number) - (o[k - 1] as number) - ((truth.writes[k] as number) - (truth.writes[k - 1] as number))))
      // The chunk left at some moment of the server's write: a long write makes that gap's truth uncertain.
      if ((truth.spans[k] as number) + (truth.spans[k - 1] as number) > 0.25) this.uncertain++
    }
    const last = o.length - 1
    if (last > 0 && (o[last] as number) - (o[last - 1] as number) - ((truth.writes[last] as number) - (truth.writes[last - 1] as number)) > 1) this.lateLast++
    return true
  }

  summary(): { ttftErrorMs: MetricSummary; ttftErrorFromWriteMs: MetricSummary; itlErrorMs: MetricSummary; uncertainTruthItls: number; lateLastChunks: number; failed: number } {
    return { ttftErrorMs: this.ttft.summary(), ttftErrorFromWriteMs: this.ttftFromWrite.summary(), itlErrorMs: this.itl.summary(), uncertainTruthItls: this.uncertain, lateLastChunks: this.lateLast, failed: this.failed }
  }
}

export interface CliFidelityRound {
  round: number
  /** From the request's arrival at the server (see FidelityResult). */
  ttftErrorMs: MetricSummary
  ttftErrorFromWriteMs: MetricSummary
  itlErrorMs: MetricSummary
  uncertainTruthItls: number
  /** Streams whose last chunk was stamped over 1 ms late: where the ends of many streams meet. */
  lateLastChunks: number
  failed: number
}

export interface CliFidelityResult {
  streams: number
  ttftTruthMs: number
  itlTruthMs: number
  tokens: number
  /** `--max-output-tokens` passed to `fluxperf run`, if any (the client sizes each stream's arrays by it). */
  maxOutputTokens?: number
  /** Round 1 and round 2 of `fluxperf run` (round 2 replays round 1 on warm connections). */
  rounds: CliFidelityRound[]
  /** Times precision mode backed off because the client stayed saturated (run.json → client.precision); 0 in a run it measures well. */
  saturationBackOffs?: number
}

/**
 * The fidelity measurement as a user gets it: `fluxperf run` (the dual-round command, in a process
 * of its own with the command's Node flags, tokenizer loaded, `--save-requests`) at `streams`
 * concurrency. Each prompt carries its truth id (`bench-id:...`, which the server reads from the body);
 * the records come from the command's request JSONL.
 */
export async function measureCliFidelity(server: ServerHandle, streams: number, ttft = 200, itl = 20, tokens = 64, promptWords = PROMPT_WORDS, maxOutputTokens?: number): Promise<CliFidelityResult> {
  const { url } = server
  const dir = mkdtempSync(join(tmpdir(), 'fluxperf-fidelity-'))
  try {
    const runId = `c${Date.now()}`
    const dataset = join(dir, 'prompts.jsonl')
    writeFileSync(dataset, Array.from({ length: streams }, (_, i) => JSON.stringify({ text: `bench-id:${runId}-${i} ${promptText(i, promptWords)}` })).join('\n') + '\n')
    const bin = fileURLToPath(new URL('../bin/fluxperf.mjs', import.meta.url))
    await promisify(execFile)(process.execPath, [
      ...commandNodeFlags(), bin, 'run', '--endpoint', url, '--dataset', dataset, '--concurrency', String(streams),
      '--save-requests', '--no-progress', '--output-dir', dir, '--seed', '1', '--precision', process.env['BENCH_PRECISION'] ?? 'on',
      // The bench servers keep no cache and report no cached tokens: the cold round is cold by construction.
      '--allow-unverified-cold-round',
      '--header', `x-bench-tokens: ${tokens}`, '--header', `x-bench-ttft: ${ttft}`, '--header', `x-bench-itl: ${itl}`,
      ...(maxOutputTokens === undefined ? [] : ['--max-output-tokens', String(maxOutputTokens)]),
    ], { maxBuffer: 64 * 1024 * 1024 })
    const truthOf = await server.truthAfterRun()
    const rounds: CliFidelityRound[] = []
    for (const file of readdirSync(dir).filter((f) => f.startsWith('requests_round')).sort()) {
      const records = readFileSync(join(dir, file), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RequestRecord & { promptPreview: string })
      const round = records[0]?.round ?? 0
      const errors = new TruthErrors()
      for (const r of records) errors.add(r, await truthOf(r.promptPreview.split(' ')[0] as string, round))
      rounds.push({ round, ...errors.summary() })
    }
    const precision = (JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { client?: { precision?: { saturationBackOffs?: number } } }).client?.precision
    return { streams, ttftTruthMs: ttft, itlTruthMs: itl, tokens, ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }), rounds, saturationBackOffs: precision?.saturationBackOffs ?? 0 }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Prompt words after the truth id (about 1.3 tokens each): a user's prompts are not one word long, and what
 * the client does with a prompt before it sends it (building, counting, serialising) is part of the send path.
 */
export const PROMPT_WORDS = 200
const WORDS = ['serving', 'latency', 'the', 'cache', 'of', 'tokens', 'prefill', 'decode', 'batch', 'model', 'é', 'request']

/** `words` words of filler text, different per prompt `i`. */
export function promptText(i: number, words: number): string {
  return Array.from({ length: words }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]).join(' ')
}

export interface FloorFidelityResult {
  streams: number
  ttftTruthMs: number
  itlTruthMs: number
  tokens: number
  ttftErrorMs: MetricSummary
  ttftErrorFromWriteMs: MetricSummary
  itlErrorMs: MetricSummary
  uncertainTruthItls: number
  lateLastChunks: number
  failed: number
  /** The client's CPU (user + system) from its first send to its last [DONE], per content chunk: here one chunk per packet. */
  clientCpuUsPerChunk: number
  /**
   * Only from bench/floorClient.c: its time from each poll that found data to the end of those reads, per
   * content chunk. What a packet costs without the wake-up (clientCpuUsPerChunk less the sleeping and waking).
   */
  readUsPerChunk?: number
  /** Only from bench/floorClient.c: ready sockets per poll that found any (1.0: every packet woke the client). */
  readyPerPoll?: number
  /** Only from bench/floorClient.c: it polled without sleeping (`floor --busy-poll`), so its CPU is its wall time. */
  busyPoll?: boolean
}

/**
 * The same measurement by bench/floorClient.c, a minimal C client (epoll, one stamp per read, no
 * parsing), compiled with the machine's `cc`: what any client could do on this machine and these
 * cores, so fluxperf's figures can be read against the machine's own noise.
 */
export async function measureFloorFidelity(url: string, streams: number, ttft = 200, itl = 20, tokens = 64, busyPoll = false): Promise<FloorFidelityResult> {
  const dir = mkdtempSync(join(tmpdir(), 'fluxperf-floor-'))
  try {
    const binary = join(dir, 'floorClient')
    try {
      await promisify(execFile)('cc', ['-O2', '-o', binary, fileURLToPath(new URL('./floorClient.c', import.meta.url))])
    } catch (error) {
      throw new Error(`the floor scenario compiles bench/floorClient.c with cc, which failed: ${(error as Error).message.split('\n')[0]}`)
    }
    const runId = `floor${Date.now()}`
    const { stdout, stderr } = await promisify(execFile)(binary, [String(streams), new URL(url).port, runId, String(tokens), String(ttft), String(itl), ...(busyPoll ? ['busy'] : [])], { maxBuffer: 256 * 1024 * 1024 })
    const errors = new TruthErrors()
    for (const line of stdout.split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { id: string; ok: boolean; startedAt: number; ttftMs: number; chunkOffsetsMs: number[] }
      errors.add(r, await fetchTruth(url, r.id))
    }
    const cost = JSON.parse(stderr.trim().split('\n').at(-1) ?? '{}') as { cpuUs: number; readUs: number; polls: number; ready: number }
    const chunks = streams * tokens
    return {
      streams, ttftTruthMs: ttft, itlTruthMs: itl, tokens, ...errors.summary(),
      clientCpuUsPerChunk: cost.cpuUs / chunks, readUsPerChunk: cost.readUs / chunks, readyPerPoll: cost.ready / cost.polls, busyPoll,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface NodeFloorResult extends FloorFidelityResult {
  /** Reads that returned bytes, over the measured streams (one per packet when the client keeps up). */
  reads: number
}

/** The content event of bench/streamServer.ts, as bench/floorClient.c finds it; the role event carries "content":"". */
const CONTENT_MARK = Buffer.from('"content":" tok"')
const DONE_MARK = Buffer.from('[DONE]')

/**
 * The runtime's floor: the same streams read by the least a Node client can do, in this process's precision
 * mode (as the `fidelity` scenario): one net.Socket per stream reading into one shared buffer (`onread`, as
 * fluxperf's pool does), each read stamped and its content events found by a byte search; no HTTP or JSON
 * parsing, no records. Its CPU per packet is what Node, libuv and the kernel take before fluxperf's own work.
 */
export async function measureNodeFloor(url: string, streams: number, ttft = 200, itl = 20, tokens = 64): Promise<NodeFloorResult> {
  // Only for precision mode (entered with fluxperf's warm-up, as the fidelity scenario is); its pool is not used.
  const { endpoint } = await contextFor(url, streams)
  await endpoint.close()
  const { hostname, port } = new URL(url)
  const shared = Buffer.allocUnsafe(64 * 1024)
  interface FloorStream { socket: Socket; t0: number; stamps: number[]; ended: boolean; done: (() => void) | null }
  let reads = 0
  const onRead = (s: FloorStream, n: number): void => {
    const now = performance.now()
    reads++
    // A view of this read's bytes: indexOf on the shared buffer would search past them (up to 64 KB).
    const bytes = shared.subarray(0, n)
    for (let at = bytes.indexOf(CONTENT_MARK); at !== -1; at = bytes.indexOf(CONTENT_MARK, at + CONTENT_MARK.length)) s.stamps.push(now - s.t0)
    if (s.done && bytes.indexOf(DONE_MARK) !== -1) {
      s.ended = true
      s.done()
      s.done = null
    }
  }
  const open = (): Promise<FloorStream> => new Promise((resolve, reject) => {
    const s: FloorStream = { socket: undefined as unknown as Socket, t0: 0, stamps: [], ended: false, done: null }
    s.socket = connect({ host: hostname, port: Number(port), noDelay: true, onread: { buffer: shared, callback: (n: number) => { onRead(s, n); return true } } })
    s.socket.once('connect', () => resolve(s)).once('error', reject)
    // A connection that closes before its [DONE] ends its exchange, counted as failed.
    s.socket.once('close', () => {
      s.done?.()
      s.done = null
    })
  })
  const list = await Promise.all(Array.from({ length: streams }, open))
  const body = JSON.stringify({ model: 'bench', stream: true, messages: MESSAGES })
  const exchange = (s: FloorStream, headers: string): Promise<void> => new Promise((resolve) => {
    s.stamps = []
    s.ended = false
    s.done = resolve
    s.t0 = performance.now()
    s.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
  })
  // A server that stops answering ends the scenario (its streams failed) instead of hanging it, as the C floor's 30 s wait does.
  const watchdog = setTimeout(() => {
    for (const s of list) s.socket.destroy()
  }, 120_000)
  try {
    // Warm the callback (JIT) as the fidelity scenario does, on 64 of the connections.
    for (let i = 0; i < 3; i++) await Promise.all(list.slice(0, 64).map((s) => exchange(s, 'x-bench-tokens: 16\r\nx-bench-ttft: 0\r\nx-bench-itl: 0\r\n')))
    reads = 0
    const runId = `n${Date.now()}`
    const cpu0 = cpuStart()
    const sent = list.map((s, i) => exchange(s, `x-bench-id: ${runId}-${i}\r\nx-bench-tokens: ${tokens}\r\nx-bench-ttft: ${ttft}\r\nx-bench-itl: ${itl}\r\n`))
    await Promise.all(sent)
    const cpuUs = cpuSince(cpu0)
    const errors = new TruthErrors()
    for (let i = 0; i < list.length; i++) {
      const s = list[i] as FloorStream
      const r = { ok: s.ended, ttftMs: s.stamps[0] ?? null, startedAt: performance.timeOrigin + s.t0, chunkOffsetsMs: s.stamps }
      errors.add(r, await fetchTruth(url, `${runId}-${i}`))
    }
    return { streams, ttftTruthMs: ttft, itlTruthMs: itl, tokens, ...errors.summary(), clientCpuUsPerChunk: cpuUs / (streams * tokens), reads }
  } finally {
    clearTimeout(watchdog)
    for (const s of list) s.socket.destroy()
  }
}

/** The Node flags the fluxperf command runs with (its shebang), so a figure measured in a child is the command's. */
export function commandNodeFlags(): string[] {
  const shebang = readFileSync(new URL('../bin/fluxperf.mjs', import.meta.url), 'utf8').split('\n', 1)[0] ?? ''
  return shebang.split(/\s+/).filter((arg) => arg.startsWith('--'))
}

/** What a bench server stamped for one request: its arrival and each content write (epoch ms). */
export interface Truth {
  arrived: number
  writes: number[]
  spans: number[]
}

async function fetchTruth(url: string, id: string): Promise<Truth | null> {
  const res = await fetch(new URL(`/truth/${encodeURIComponent(id)}`, url))
  return (await res.json()) as Truth | null
}

export interface MemoryResult {
  requests: number
  concurrency: number
  seconds: number
  requestsPerS: number
  rssStartMb: number
  rssPeakMb: number
  heapPeakMb: number
  failed: number
}

/** `requests` 1-token requests at `concurrency`, records streamed to JSONL, distributions in histograms. */
export async function measureMemory(url: string, requests: number, concurrency: number, jsonlPath: string): Promise<MemoryResult> {
  const { ctx, endpoint } = await contextFor(url, concurrency, { 'x-bench-tokens': '1' })
  await preconnect(ctx, concurrency)
  const log = new JsonlWriter(jsonlPath)
  const acc = new RoundAccumulator({ label: 'memory', concurrency, round: 1 })
  const rssStart = process.memoryUsage.rss()
  let rssPeak = rssStart
  let heapPeak = 0
  let started = 0
  let failed = 0
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss())
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
  }, 250)
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < requests) {
      started++
      const r: RequestRecord = await sendRequest(ctx, MESSAGES, meta(concurrency))
      if (!r.ok) failed++
      acc.add(r)
      log.write(r)
    }
  }))
  clearInterval(sampler)
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss())
  const seconds = (performance.now() - t0) / 1000
  acc.finish()
  log.close()
  await endpoint.close()
  return { requests, concurrency, seconds, requestsPerS: requests / seconds, rssStartMb: mb(rssStart), rssPeakMb: mb(rssPeak), heapPeakMb: mb(heapPeak), failed }
}

export interface CliScaleRun {
  saveRequests: boolean
  /** Requests per second of each round (its requests over its duration). */
  roundRequestsPerS: number[]
  /** Peak RSS of the `fluxperf run` process (VmHWM), MB. */
  rssPeakMb: number
  /** From the last request's end to the process's exit: the reports' time. */
  reportsS: number
  /** The whole command, start to exit. */
  wallS: number
  failed: number
}

export interface CliScaleResult {
  requests: number
  concurrency: number
  /** The library path (sendRequest → histograms, records to JSONL) against the same server, in a process of its own, before the CLI runs. */
  library: MemoryResult
  /** The same, after them: the host's speed moved by up to a third within the hour, so the CLI is compared with both. */
  libraryAfter: MemoryResult
  /** The mean of the two library runs' requests/s, which each CLI round's share is taken of. */
  libraryRequestsPerS: number
  cli: CliScaleRun[]
}

/**
 * `requests` one-token requests (a dual round of requests / 2 one-turn conversations) through `fluxperf run`
 * at `concurrency`, with and without `--save-requests`, against bench/timedServer.c answering at once; and
 * the library path against the same server for the requests/s it is compared with. Each in a fresh process.
 */
export async function measureCliScale(requests: number, concurrency = 64): Promise<CliScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'fluxperf-scale-'))
  try {
    const dataset = join(dir, 'prompts.jsonl')
    const rows: string[] = []
    for (let i = 0; i < requests / 2; i++) rows.push(JSON.stringify({ text: `bench prompt ${i}` }))
    writeFileSync(dataset, rows.join('\n') + '\n')
    rows.length = 0
    const libraryRun = (): Promise<MemoryResult> => withServer(async (server) => {
      const { stdout } = await promisify(execFile)(process.execPath, [...commandNodeFlags(), fileURLToPath(import.meta.url), 'memory', '--server-url', server.url, '--requests', String(requests), '--concurrency', String(concurrency)], { maxBuffer: 16 * 1024 * 1024 })
      return JSON.parse(stdout) as MemoryResult
    })
    // The CLI runs between two library runs: compared with one run minutes apart, the share measured the hour
    // (62–136 % on one day: docs/performance.md, 2026-12-07).
    const library = await libraryRun()
    const cli: CliScaleRun[] = []
    for (const saveRequests of [false, true]) {
      cli.push(await withServer((server) => cliRun(server.url, dataset, join(dir, `out-${saveRequests}`), concurrency, saveRequests)))
      rmSync(join(dir, `out-${saveRequests}`), { recursive: true, force: true })
    }
    const libraryAfter = await libraryRun()
    return { requests, concurrency, library, libraryAfter, libraryRequestsPerS: (library.requestsPerS + libraryAfter.requestsPerS) / 2, cli }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function withServer<T>(work: (server: ServerHandle) => Promise<T>): Promise<T> {
  const server = await startTimedServerC(0, 0, 1)
  try {
    return await work(server)
  } finally {
    await server.stop()
  }
}

/** One `fluxperf run` of the scale scenario, its peak RSS read from /proc while it runs. */
async function cliRun(url: string, dataset: string, out: string, concurrency: number, saveRequests: boolean): Promise<CliScaleRun> {
  const bin = fileURLToPath(new URL('../bin/fluxperf.mjs', import.meta.url))
  const t0 = Date.now()
  const child = spawn(process.execPath, [
    ...commandNodeFlags(), bin, 'run', '--endpoint', url, '--dataset', dataset, '--concurrency', String(concurrency),
    '--no-progress', '--output-dir', out, '--seed', '1', '--allow-unverified-cold-round', ...(saveRequests ? ['--save-requests'] : []),
  ], { stdio: ['ignore', 'ignore', 'inherit'] })
  let peakKb = 0
  const status = `/proc/${child.pid}/status`
  const sample = (): void => {
    try {
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(status, 'utf8'))?.[1] ?? 0))
    } catch {
      // the process has ended
    }
  }
  const sampler = setInterval(sample, 100)
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  clearInterval(sampler)
  const exitedAt = Date.now()
  if (code !== 0) throw new Error(`fluxperf run exited ${code}`)
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { rounds: { total: number; failed: number; durationS: number; lastEndMs?: number }[] }
  const lastEnd = Math.max(...run.rounds.map((r) => r.lastEndMs ?? 0))
  return {
    saveRequests,
    roundRequestsPerS: run.rounds.map((r) => r.total / r.durationS),
    rssPeakMb: peakKb / 1024,
    reportsS: (exitedAt - lastEnd) / 1000,
    wallS: (exitedAt - t0) / 1000,
    failed: run.rounds.reduce((n, r) => n + r.failed, 0),
  }
}

export interface OpenLoopResult {
  targetRate: number
  durationS: number
  scheduled: number
  sent: number
  completed: number
  failed: number
  achievedRate: number
  /** Send time (when the request was written) − intended time, ms. */
  scheduleLagMs: MetricSummary
  eventLoopDelayP99Ms: number
}

/** An open-loop schedule at `rate` requests/s for `durationS`, 8-token answers, lag measured at the write. */
export async function measureOpenLoop(url: string, rate: number, durationS: number): Promise<OpenLoopResult> {
  const { ctx, endpoint } = await contextFor(url, 256, { 'x-bench-tokens': '8' })
  await preconnect(ctx, 256, 8)
  await benchPrecision()?.beforeClock()
  const lag = new MetricRecorder()
  const loop = monitorEventLoopDelay({ resolution: 5 })
  const inFlight: Promise<void>[] = []
  let sent = 0
  let failed = 0
  let completed = 0
  let firstSend = Infinity
  let lastSend = 0
  const epochAt = (clockMs: number): number => performance.timeOrigin + clockMs
  loop.enable()
  const run = await runOpenLoop({
    offsets: arrivalOffsets({ rate }, createRandom(1)),
    durationMs: durationS * 1000,
    onArrival: (arrival) => {
      sent++
      inFlight.push(sendRequest(ctx, MESSAGES, meta(0)).then((r) => {
        // The request's own start is when undici wrote it: that is the send time.
        lag.record(Math.max(0, r.startedAt - epochAt(arrival.intendedAt)))
        firstSend = Math.min(firstSend, r.startedAt)
        lastSend = Math.max(lastSend, r.startedAt)
        completed++
        if (!r.ok) failed++
      }))
    },
  })
  loop.disable()
  await Promise.all(inFlight)
  await endpoint.close()
  // Rate over the span of actual sends, scaled to the schedule's n−1 gaps.
  const achievedRate = sent > 1 ? ((sent - 1) / (lastSend - firstSend)) * 1000 : 0
  return { targetRate: rate, durationS, scheduled: run.fired, sent, completed, failed, achievedRate, scheduleLagMs: lag.summary(), eventLoopDelayP99Ms: loop.percentile(99) / 1e6 }
}

export interface WorkersRun {
  workers: number
  requests: number
  failed: number
  /** Requests of every round over the rounds' durations. */
  requestsPerS: number
  /** CPU of the whole `fluxperf run` process (every thread, start to exit), s; from the parent's cutime + cstime. */
  cpuS: number
  /** CPU of the same command for `baseRequests` requests: the fixed cost (start, tokenizer, each worker's start). */
  fixedCpuS: number
  /** (cpuS − fixedCpuS) per request beyond the small run's, µs: the marginal client CPU per request. */
  cpuUsPerRequest: number
  /** The fixed cost shared out per worker thread, s. */
  fixedCpuSPerWorker: number
  /** Output and input tokens over every round. */
  outputTokens: number
  inputTokens: number
}

export interface WorkersResult {
  requests: number
  concurrency: number
  runs: WorkersRun[]
  /** Every run sent the same requests (count, failures, token totals) as the one-worker run. */
  totalsMatch: boolean
}

/**
 * `fluxperf run --workers n` for each n of `workers`, against bench/timedServer.c answering at once (one-token
 * answers): requests/s, the client's CPU (fixed and per request) and whether the totals match across n. A dual
 * round of `requests / 2` one-turn conversations at `concurrency`; each command in a fresh process, its CPU read
 * from this process's children's times. Measures throughput and cost per worker, not scaling: on a 2-core host
 * the server takes a core (docs/design/workers.md says how scaling is measured on a bigger one).
 */
export async function measureWorkers(requests: number, concurrency = 64, workers: readonly number[] = [1, 2], baseRequests = 200): Promise<WorkersResult> {
  const dir = mkdtempSync(join(tmpdir(), 'fluxperf-workers-'))
  const datasetOf = (n: number): string => {
    const file = join(dir, `prompts-${n}.jsonl`)
    const rows: string[] = []
    for (let i = 0; i < n / 2; i++) rows.push(JSON.stringify({ text: `bench prompt ${i}` }))
    writeFileSync(file, rows.join('\n') + '\n')
    return file
  }
  const childCpuS = (): number => {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')
    // cutime and cstime: fields 16 and 17 of stat (13 and 14 after the name), in clock ticks (100 a second on Linux).
    return (Number(fields[13]) + Number(fields[14])) / 100
  }
  const bin = fileURLToPath(new URL('../bin/fluxperf.mjs', import.meta.url))
  const once = async (n: number, dataset: string, out: string): Promise<{ cpuS: number; run: { rounds: { total: number; failed: number; succeeded: number; durationS: number; avgInputTokens: number; avgOutputTokens: number }[] } }> => {
    return withServer(async (server) => {
      const before = childCpuS()
      await promisify(execFile)(process.execPath, [
        ...commandNodeFlags(), bin, 'run', '--endpoint', server.url, '--dataset', dataset, '--concurrency', String(concurrency), '--workers', String(n),
        '--no-progress', '--no-report', '--output-dir', out, '--seed', '1', '--allow-unverified-cold-round', '--precision', process.env['BENCH_PRECISION'] ?? 'off',
      ], { maxBuffer: 64 * 1024 * 1024 })
      const cpuS = childCpuS() - before
      const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))
      rmSync(out, { recursive: true, force: true })
      return { cpuS, run }
    })
  }
  try {
    const big = datasetOf(requests)
    const small = datasetOf(baseRequests)
    const runs: WorkersRun[] = []
    for (const n of workers) {
      const fixed = await once(n, small, join(dir, `small-${n}`))
      const { cpuS, run } = await once(n, big, join(dir, `big-${n}`))
      const total = run.rounds.reduce((s, r) => s + r.total, 0)
      runs.push({
        workers: n,
        requests: total,
        failed: run.rounds.reduce((s, r) => s + r.failed, 0),
        requestsPerS: total / run.rounds.reduce((s, r) => s + r.durationS, 0),
        cpuS,
        fixedCpuS: fixed.cpuS,
        cpuUsPerRequest: ((cpuS - fixed.cpuS) / (total - baseRequests)) * 1e6,
        fixedCpuSPerWorker: fixed.cpuS / n,
        outputTokens: Math.round(run.rounds.reduce((s, r) => s + r.avgOutputTokens * r.succeeded, 0)),
        inputTokens: Math.round(run.rounds.reduce((s, r) => s + r.avgInputTokens * r.succeeded, 0)),
      })
    }
    const [first] = runs
    const totalsMatch = runs.every((r) => first !== undefined && r.requests === first.requests && r.failed === first.failed && r.outputTokens === first.outputTokens && r.inputTokens === first.inputTokens)
    return { requests, concurrency, runs, totalsMatch }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function cli(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      concurrency: { type: 'string', default: '64' },
      duration: { type: 'string', default: '5' },
      tokens: { type: 'string', default: '64' },
      streams: { type: 'string', default: '100' },
      requests: { type: 'string', default: '1000000' },
      rate: { type: 'string', default: '1000' },
      // The server reports no usage, so the client counts tokens itself.
      'no-usage': { type: 'boolean', default: false },
      // fidelity-cli against bench/timedServer.c instead of bench/streamServer.ts.
      server: { type: 'string', default: 'node' },
      // memory against a server already running (cli-scale's library path).
      'server-url': { type: 'string' },
      // The truth of the fidelity scenarios (with --tokens per stream).
      ttft: { type: 'string', default: '200' },
      // Words of filler in each fidelity-cli prompt.
      'prompt-words': { type: 'string', default: String(PROMPT_WORDS) },
      itl: { type: 'string', default: '20' },
      // fidelity-cli: the max_tokens each request asks for (the server still sends --tokens).
      'max-output-tokens': { type: 'string' },
      // floor: bench/floorClient.c polls without sleeping.
      'busy-poll': { type: 'boolean', default: false },
    },
  })
  const number = (flag: 'ttft' | 'itl' | 'tokens' | 'streams'): number => {
    const value = Number(values[flag])
    if (!(value > 0) || !Number.isFinite(value) || (flag !== 'ttft' && flag !== 'itl' && !Number.isInteger(value))) {
      throw new Error(`--${flag}: expected a positive ${flag === 'ttft' || flag === 'itl' ? 'number of ms' : 'whole number'}, got "${values[flag]}"`)
    }
    return value
  }
  const [ttft, itl, tokens, streams] = [number('ttft'), number('itl'), number('tokens'), number('streams')]
  const scenario = positionals[0] ?? 'chunks'
  if (values['busy-poll'] && scenario !== 'floor') throw new Error('--busy-poll: only with floor')
  const maxOutputTokens = values['max-output-tokens'] === undefined ? undefined : Number(values['max-output-tokens'])
  if (maxOutputTokens !== undefined) {
    if (scenario !== 'fidelity-cli') throw new Error('--max-output-tokens: only with fidelity-cli')
    if (!Number.isInteger(maxOutputTokens) || maxOutputTokens <= 0) throw new Error(`--max-output-tokens: expected a positive whole number, got "${values['max-output-tokens']}"`)
  }
  if (scenario === 'workers') {
    // npx node bench/clientBench.ts workers 1,2 --requests 20000 --concurrency 64   (needs cc)
    const list = (positionals[1] ?? '1,2').split(',').map(Number)
    console.log(JSON.stringify(await measureWorkers(Number(values.requests), Number(values.concurrency), list), null, 2))
    return
  }
  if (scenario === 'cli-scale') {
    console.log(JSON.stringify(await measureCliScale(Number(values.requests), Number(values.concurrency)), null, 2))
    return
  }
  if (values['server-url'] !== undefined) {
    if (scenario !== 'memory') throw new Error('--server-url: only with memory')
    console.log(JSON.stringify(await measureMemory(values['server-url'], Number(values.requests), Number(values.concurrency), '/dev/null'), null, 2))
    await leaveBenchPrecision()
    return
  }
  const mode = scenario.startsWith('fidelity') || scenario === 'floor' || scenario === 'node-floor' ? 'timed' : 'fast'
  noUsage = values['no-usage'] ?? false
  if (values.server !== 'node' && (values.server !== 'c' || scenario !== 'fidelity-cli' || values['no-usage'])) {
    throw new Error(`--server ${values.server}: expected node, or c with fidelity-cli (bench/timedServer.c always reports usage)`)
  }
  const server = values.server === 'c' ? await startTimedServerC(ttft, itl, tokens) : await startStreamServer(['--mode', mode, ...(values['no-usage'] ? ['--no-usage'] : [])])
  try {
    const result = scenario === 'openloop'
      ? await measureOpenLoop(server.url, Number(values.rate), Number(values.duration))
      : scenario === 'fidelity'
      ? await measureFidelity(server.url, streams, ttft, itl, tokens)
      : scenario === 'fidelity-cli'
      ? await measureCliFidelity(server, streams, ttft, itl, tokens, Number(values['prompt-words']), maxOutputTokens)
      : scenario === 'floor'
      ? await measureFloorFidelity(server.url, streams, ttft, itl, tokens, values['busy-poll'])
      : scenario === 'node-floor'
      ? await measureNodeFloor(server.url, streams, ttft, itl, tokens)
      : scenario === 'memory'
        ? await measureMemory(server.url, Number(values.requests), Number(values.concurrency), '/dev/null')
        : await measureChunks(server.url, Number(values.concurrency), Number(values.duration), Number(values.tokens))
    console.log(JSON.stringify(result, null, 2))
  } finally {
    await server.stop()
    await leaveBenchPrecision()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await cli().catch((error: unknown) => {
    process.stderr.write(`clientBench: ${(error as Error).message}\n`)
    process.exitCode = 2
  })
}
