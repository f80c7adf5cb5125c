import { Worker } from 'node:worker_threads'
import { confinedToOneCpu } from '../client/index.ts'
import { InputError } from '../errors.ts'
import { mergeOpenLoop, mergeRounds, mergeRuns } from '../merge/mergeRuns.ts'
import { randomSeed } from '../random.ts'
import type { OpenLoopSummary, RequestRecord, RoundResult, RunResult, Slo } from '../types.ts'
import type { RunContext, RunHooks, WorkloadName, WorkloadSettings } from './options.ts'

/**
 * `--workers n`: one run shared by n worker threads of this process. Worker k runs shard k of n of the one run
 * the seed makes (its own connections, histograms and precision mode), hooks are forwarded to this thread, every
 * worker prepares and then starts at one signal from here (a barrier), and the workers' RunResults are merged
 * exactly, as `fluxperf merge` merges shards. Design note: docs/design/workers.md.
 *
 * This module does not import the engine (which imports it): the worker's entry, workerThread.ts, does.
 */

/** What a worker thread is given (`workerData`). */
export interface WorkerData {
  workload: WorkloadName
  /** The run's options as this worker runs them: cloneable, `shard` and `seed` set, no hooks or signal. */
  options: Record<string, unknown>
  /** Hooks of the caller's to forward (their names). */
  hooks: string[]
  /** traffic's `endWhen` was given: the worker ends its schedule when the main thread says (`{ t: 'end' }`). */
  endWhen: boolean
  extras: { slo?: Slo; outputDir?: string }
}

/** From a worker thread to the main one. */
export type FromWorker =
  | { t: 'records'; records: RequestRecord[] }
  | { t: 'hook'; name: string; args: unknown[] }
  | { t: 'roundStart'; info: { label: string; concurrency: number; round: number; total: number } }
  | { t: 'roundEnd'; round: RoundResult; context: RunContext }
  | { t: 'ready' }
  | { t: 'done'; run: RunResult }
  | { t: 'failed'; name: string; message: string; where?: string }

/** From the main thread to a worker. */
export type ToWorker = { t: 'start' } | { t: 'abort' } | { t: 'end' }

/** Periodic snapshots (traffic, QA): merged over the workers' latest once all have reported, paced by worker 1's. */
const SNAPSHOT_HOOKS = new Set(['onInterval'])
/** Hooks the main thread handles itself, merged over the workers. */
const MERGED_HOOKS = new Set(['onRoundStart', 'onRoundComplete'])

/** The worker thread's entry: the .ts source under Node's type stripping (tests, a checkout), the .js once built. */
function entry(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './workerThread.ts' : './workerThread.js', import.meta.url)
}

/** The workloads a worker thread can rebuild by name (workerThread.ts). */
const OWN_WORKLOADS = new Set<string>(['dualRound', 'multiTurn', 'multiRoundQa', 'traffic'])

/** Keys given to every worker but not as the caller gave them. */
const NOT_CLONED = new Set(['hooks', 'signal', 'workers'])

/**
 * Runs `definition` (one of fluxperf's workloads) over `options.workers` worker threads and returns the merged
 * RunResult. Called by `runWorkload` when `workers` > 1, after the options were checked.
 */
export async function runInWorkers(definition: { name: WorkloadName; kind: string }, options: WorkloadSettings, extras: { slo?: Slo; outputDir?: string }): Promise<RunResult> {
  const count = options.workers as number
  if (!OWN_WORKLOADS.has(definition.name)) throw new InputError(`only fluxperf's own workloads (${[...OWN_WORKLOADS].join(', ')}) run in worker threads, not "${String(definition.name)}"`, '--workers')
  const hooks: RunHooks & Record<string, unknown> = (options.hooks ?? {}) as RunHooks & Record<string, unknown>
  const seed = options.seed ?? randomSeed()
  const base: Record<string, unknown> = {}
  // traffic's `endWhen` (a function, as `fluxperf sweep` gives it) is judged in this thread on the merged snapshots.
  const endWhen = (options as { endWhen?: unknown }).endWhen
  if (endWhen !== undefined && typeof endWhen !== 'function') throw new InputError('endWhen: expected a function of the snapshot', '--workers')
  for (const [key, value] of Object.entries(options)) {
    if (NOT_CLONED.has(key) || key === 'endWhen') continue
    if (typeof value === 'function') throw new InputError(`option "${key}" is a function, which cannot be handed to a worker thread; run with workers: 1`, '--workers')
    base[key] = value
  }
  base['seed'] = seed
  try {
    structuredClone(base)
  } catch (error) {
    throw new InputError(`the options cannot be handed to worker threads (${(error as Error).message}): give plain data (a dataset as rows or a file), or run with one worker`, '--workers')
  }
  const forwarded = Object.keys(hooks).filter((name) => typeof hooks[name] === 'function')
  const dataFor = (index: number): WorkerData => {
    const own: Record<string, unknown> = { ...base, shard: { index, count } }
    // Prometheus is scraped once (by worker 1), around its rounds, which all workers run together.
    if (index > 0) delete own['prometheus']
    return { workload: definition.name, options: own, hooks: endWhen ? [...new Set([...forwarded, 'onInterval'])] : forwarded, endWhen: endWhen !== undefined, extras: { ...(extras.slo ? { slo: extras.slo } : {}), ...(extras.outputDir ? { outputDir: extras.outputDir } : {}) } }
  }
  // Precision mode's process-wide steps (V8 flags, fetching V8's gc function) must not interleave between
  // threads: with precision active, the workers prepare one after another.
  const mode = options.precision ?? 'off'
  const serial = mode === 'on' || (mode === 'auto' && confinedToOneCpu())

  if (confinedToOneCpu()) hooks.onNotice?.(`${count} worker threads confined to one CPU share it: no more streams than one worker, and each worker's event loop stays in its class (no real-time loop); confine the process to ${count} CPUs (taskset -c 0-${count - 1})`)
  let ending = false
  const endAll = (): void => {
    if (ending) return
    ending = true
    for (const w of workers) w.postMessage({ t: 'end' } satisfies ToWorker)
  }
  const merger = new HookMerger(count, hooks, endWhen as ((snapshot: Snapshot) => boolean) | undefined, endAll)
  const workers: Worker[] = []
  const results: (RunResult | undefined)[] = new Array(count).fill(undefined)
  let failure: Error | undefined
  let aborting = false
  const abortAll = (): void => {
    if (aborting) return
    aborting = true
    for (const w of workers) w.postMessage({ t: 'abort' } satisfies ToWorker)
  }
  const signal = options.signal
  const onAbort = (): void => abortAll()
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) abortAll()

  let readyCount = 0
  let started = false
  const allReady = (): void => {
    if (started) return
    started = true
    for (const w of workers) w.postMessage({ t: 'start' } satisfies ToWorker)
  }

  let spawned = 0
  /** Workers whose run ended (their result came) or whose thread did. */
  const finished = new Set<number>()
  let allFinished: () => void = () => undefined
  const finishing = new Promise<void>((resolve) => (allFinished = resolve))
  const finish = (index: number): void => {
    finished.add(index)
    if (finished.size === spawned && (spawned === count || failure !== undefined)) allFinished()
  }
  const spawn = (index: number): void => {
    spawned++
    // Several real-time event loops on one core would starve each other (SCHED_FIFO): none is moved there.
    const env = confinedToOneCpu() ? { ...process.env, FLUXPERF_NO_REALTIME: '1' } : process.env
    const worker = new Worker(entry(), { workerData: dataFor(index), env })
    workers[index] = worker
    if (aborting) worker.postMessage({ t: 'abort' } satisfies ToWorker)
    const fail = (error: Error): void => {
      failure ??= error
      abortAll()
      // A failed worker never comes to the barrier: let the others go, to see the abort.
      allReady()
    }
    worker.on('message', (message: FromWorker) => {
      switch (message.t) {
        case 'ready':
          readyCount++
          if (serial && spawned < count && failure === undefined) spawn(spawned)
          if (readyCount === count) allReady()
          return
        case 'done':
          results[index] = message.run
          merger.push(index, message)
          finish(index)
          return
        case 'failed':
          fail(message.name === 'InputError' ? inputError(forWorkers(message.message), message.where === '--shard' ? '--workers' : message.where) : new Error(`worker ${index + 1} of ${count}: ${message.message}`))
          finish(index)
          return
        default:
          merger.push(index, message)
      }
    })
    worker.on('error', (error) => fail(new Error(`worker ${index + 1} of ${count} crashed: ${error.message}`)))
    worker.on('exit', (code) => {
      if (results[index] === undefined) fail(failure ?? new Error(`worker ${index + 1} of ${count} ended (exit code ${code}) before its run did`))
      finish(index)
    })
  }
  if (serial) spawn(0)
  else for (let i = 0; i < count; i++) spawn(i)
  try {
    await finishing
    await merger.drain()
  } finally {
    signal?.removeEventListener('abort', onAbort)
    await Promise.all(workers.map((w) => w.terminate()))
  }
  if (failure) throw failure
  const runs = results as RunResult[]
  const interrupted = runs.some((r) => r.interrupted)
  // Every worker ran the same settings; worker 1 alone scraped Prometheus.
  const first = runs[0] as RunResult
  const parts = runs.map((run, i) => ({ name: `worker-${i + 1}`, run: { ...run, interrupted: false, config: { ...first.config, shard: run.config['shard'] } } as RunResult }))
  const { run: merged } = mergeRuns(parts, Infinity)
  const { mergedFrom: _mergedFrom, ...result } = merged
  // Each worker entered precision mode in its own thread; worker 1's summary stands for all, and says so.
  const precision = first.client.precision.active
    ? { ...first.client.precision, changes: [...first.client.precision.changes, `in each of ${count} worker threads (warm-up and collections per thread; the V8 flag is process-wide)`] }
    : first.client.precision
  return {
    ...result,
    config: withoutShard(first.config),
    interrupted,
    ...(first.prometheus ? { prometheus: first.prometheus } : {}),
    client: { ...result.client, precision, workers: count },
  } as RunResult
}

/** A periodic snapshot (TrafficSnapshot, QaSnapshot): what they have in common, loosely. */
interface Snapshot {
  elapsedS?: number
  round?: RoundResult
  openLoop?: OpenLoopSummary
  sent?: number
  settled?: number
  connectionWaits?: number
  saturation?: { saturated: boolean }
  [key: string]: unknown
}

/**
 * The workers' latest snapshots as one: rounds merged as rounds are, open-loop summaries as shards' are, counts
 * summed, the longest elapsed time; a saturation seen by any worker is the one kept.
 */
export function mergeSnapshots(parts: readonly Snapshot[]): Snapshot {
  const first = parts[0] as Snapshot
  const merged: Snapshot = { ...first }
  if (parts.every((p) => typeof p.elapsedS === 'number')) merged.elapsedS = Math.max(...parts.map((p) => p.elapsedS as number))
  if (parts.every((p) => p.round !== undefined)) merged.round = mergeRounds(parts.map((p) => p.round as RoundResult))
  if (parts.every((p) => p.openLoop !== undefined)) merged.openLoop = mergeOpenLoop(parts.map((p) => p.openLoop as OpenLoopSummary))
  for (const key of ['sent', 'settled', 'connectionWaits'] as const) {
    if (parts.every((p) => typeof p[key] === 'number')) merged[key] = parts.reduce((n, p) => n + (p[key] as number), 0)
  }
  const saturated = parts.find((p) => p.saturation?.saturated)
  if (saturated) merged.saturation = saturated.saturation
  return merged
}

function withoutShard(config: Record<string, unknown>): Record<string, unknown> {
  const { shard: _shard, ...rest } = config
  return rest
}

/** A shard's message, said of worker threads. */
function forWorkers(message: string): string {
  return message.replace(/^--shard: /, '--workers: ').replace(/\ba sharded run\b/g, 'a run over worker threads').replace(/\bper sharded run\b/g, 'per run').replace(/\bshards\b/g, 'worker threads').replace(/\bshard\b/g, 'worker thread')
}

function inputError(message: string, where: string | undefined): InputError {
  const error = new InputError(message)
  Object.defineProperty(error, 'where', { value: where })
  return error
}

type Event = Exclude<FromWorker, { t: 'ready' } | { t: 'failed' }>

/**
 * The caller's hooks, fed from every worker in arrival order (each worker's own order kept): `onRequest`,
 * `onDebug`, `onNotice` (a message said by several workers, once) and the workload's own hooks as they come;
 * `onRoundStart` once per label when every worker that runs it has started it (totals summed); `onRoundComplete`
 * once per label, with the workers' rounds merged, when every worker has ended it. While a round waits for
 * its start, later events wait too, so no record reaches the caller before its round has started.
 */
class HookMerger {
  private readonly queue: { index: number; event: Event }[] = []
  private readonly starts = new Map<string, { workers: Set<number>; total: number; info: { label: string; concurrency: number; round: number }; fired: boolean }>()
  private readonly ends = new Map<string, { rounds: Map<number, RoundResult>; context: RunContext; fired: boolean }>()
  private readonly done = new Set<number>()
  private readonly notices = new Set<string>()
  /** Each worker's latest periodic snapshot. */
  private readonly snapshots = new Map<number, Snapshot>()
  /** A merged snapshot has gone out (every worker had reported). */
  private snapshotsMerged = false
  private chain: Promise<void> = Promise.resolve()
  /** A hook that threw: the run fails with it once the workers have ended. */
  private error: unknown
  private readonly count: number
  private readonly hooks: RunHooks & Record<string, unknown>

  private readonly endWhen: ((snapshot: Snapshot) => boolean) | undefined
  private readonly onEnd: (() => void) | undefined

  constructor(count: number, hooks: RunHooks & Record<string, unknown>, endWhen?: (snapshot: Snapshot) => boolean, onEnd?: () => void) {
    this.count = count
    this.hooks = hooks
    this.endWhen = endWhen
    this.onEnd = onEnd
  }

  push(index: number, event: Event): void {
    if (event.t === 'roundStart') {
      const s = this.starts.get(event.info.label) ?? { workers: new Set<number>(), total: 0, info: { label: event.info.label, concurrency: event.info.concurrency, round: event.info.round }, fired: false }
      s.workers.add(index)
      s.total += event.info.total
      this.starts.set(event.info.label, s)
    }
    if (event.t === 'done') this.done.add(index)
    this.queue.push({ index, event })
    void this.pump()
  }

  /** After every worker has ended: every event delivered, and every round ended by some worker completed. */
  async drain(): Promise<void> {
    await this.pump()
    await this.completeRounds(true)
    if (this.error !== undefined) throw this.error
  }

  /** Whether every worker has started round `label`, or ended without. */
  private allStarted(label: string): boolean {
    const s = this.starts.get(label)
    if (!s) return false
    for (let i = 0; i < this.count; i++) if (!s.workers.has(i) && !this.done.has(i)) return false
    return true
  }

  /** Delivers what can be, in order; calls run one after another (a promise chain, so no wake-up is lost). */
  private pump(): Promise<void> {
    this.chain = this.chain.then(() => this.step()).catch((error: unknown) => {
      this.error ??= error
    })
    return this.chain
  }

  private async step(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0] as { index: number; event: Event }
      if (head.event.t === 'roundStart') {
        const s = this.starts.get(head.event.info.label)!
        if (!s.fired) {
          if (!this.allStarted(s.info.label)) return
          s.fired = true
          this.hooks.onRoundStart?.({ ...s.info, total: s.total })
        }
      } else {
        await this.deliver(head.index, head.event)
      }
      this.queue.shift()
    }
    await this.completeRounds()
  }

  private async deliver(index: number, event: Event): Promise<void> {
    switch (event.t) {
      case 'records':
        for (const record of event.records) this.hooks.onRequest?.(record)
        return
      case 'hook': {
        if (MERGED_HOOKS.has(event.name)) return
        if (SNAPSHOT_HOOKS.has(event.name)) {
          this.snapshots.set(index, event.args[0] as Snapshot)
          // Merged only once every worker has reported (or ended): an early one of worker 1's alone was half the run.
          for (let k = 0; k < this.count; k++) if (!this.snapshots.has(k) && !this.done.has(k)) return
          // Then paced by worker 1's; the first whole one goes out whichever worker completed it.
          if (index !== 0 && this.snapshotsMerged) return
          this.snapshotsMerged = true
          const merged = mergeSnapshots([...this.snapshots.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s))
          // traffic's `endWhen`, judged here on the whole run's snapshot: every worker ends its schedule.
          if (this.endWhen?.(merged)) this.onEnd?.()
          event = { ...event, args: [merged] }
        }
        if (event.name === 'onNotice') {
          const message = String(event.args[0])
          if (this.notices.has(message)) return
          this.notices.add(message)
        }
        const hook = this.hooks[event.name]
        if (typeof hook === 'function') await (hook as (...args: unknown[]) => unknown).apply(this.hooks, event.args)
        return
      }
      case 'roundEnd': {
        const e = this.ends.get(event.round.label) ?? { rounds: new Map<number, RoundResult>(), context: event.context, fired: false }
        e.rounds.set(index, event.round)
        this.ends.set(event.round.label, e)
        await this.completeRounds()
        return
      }
      case 'done':
        await this.completeRounds()
        return
    }
  }

  /** `onRoundComplete` for each round every worker has ended (or ended its run without), merged. */
  private async completeRounds(force = false): Promise<void> {
    for (const [label, e] of this.ends) {
      if (e.fired) continue
      const s = this.starts.get(label)
      let complete = true
      for (let i = 0; i < this.count; i++) {
        const runsIt = s ? s.workers.has(i) : e.rounds.has(i)
        if (runsIt ? !e.rounds.has(i) : !this.done.has(i)) complete = false
      }
      if (!complete && !force) continue
      e.fired = true
      const round = mergeRounds([...e.rounds.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r))
      await this.hooks.onRoundComplete?.(round, { ...e.context, config: withoutShard(e.context.config) })
    }
  }
}
