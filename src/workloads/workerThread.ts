import { parentPort, workerData } from 'node:worker_threads'
import type { RequestRecord, RunResult } from '../types.ts'
import { DUAL_ROUND } from './dualRound.ts'
import { runWorkload } from './engine.ts'
import type { WorkloadDefinition } from './engine.ts'
import { MULTI_ROUND_QA } from './multiRoundQa.ts'
import { MULTI_TURN } from './multiTurn.ts'
import type { WorkloadName, WorkloadSettings } from './options.ts'
import { TRAFFIC } from './traffic.ts'
import type { FromWorker, ToWorker, WorkerData } from './workers.ts'

/**
 * A worker thread of `--workers n` (src/workloads/workers.ts starts it): runs its shard of the run with hooks
 * that forward to the main thread, waits at the barrier once prepared, and posts its RunResult.
 */

const DEFINITIONS: Record<WorkloadName, WorkloadDefinition<WorkloadSettings, RunResult>> = {
  dualRound: DUAL_ROUND as unknown as WorkloadDefinition<WorkloadSettings, RunResult>,
  multiTurn: MULTI_TURN as unknown as WorkloadDefinition<WorkloadSettings, RunResult>,
  multiRoundQa: MULTI_ROUND_QA as unknown as WorkloadDefinition<WorkloadSettings, RunResult>,
  traffic: TRAFFIC as unknown as WorkloadDefinition<WorkloadSettings, RunResult>,
}

const port = parentPort as NonNullable<typeof parentPort>
const data = workerData as WorkerData
const post = (message: FromWorker): void => port.postMessage(message)

const controller = new AbortController()
/** The main thread judged traffic's `endWhen` true on the merged snapshots. */
let endRequested = false
let start: (() => void) | undefined
const started = new Promise<void>((resolve) => (start = resolve))
port.on('message', (message: ToWorker) => {
  if (message.t === 'abort') {
    controller.abort()
    start?.()
  } else if (message.t === 'start') start?.()
  else if (message.t === 'end') endRequested = true
})

// Records go in batches, flushed before anything else is posted so that each worker's order is kept.
const FLUSH_MS = 10
let batch: RequestRecord[] = []
let flushing = false
const flush = (): void => {
  flushing = false
  if (batch.length === 0) return
  post({ t: 'records', records: batch })
  batch = []
}
const send = (message: FromWorker): void => {
  flush()
  post(message)
}

const hooks: Record<string, (...args: unknown[]) => unknown> = {
  onRoundStart: (info) => send({ t: 'roundStart', info: info as Extract<FromWorker, { t: 'roundStart' }>['info'] }),
  onRoundComplete: (round, context) => send({ t: 'roundEnd', round, context } as FromWorker),
}
for (const name of data.hooks) {
  if (name === 'onRoundStart' || name === 'onRoundComplete') continue
  hooks[name] = name === 'onRequest'
    ? (record) => {
      batch.push(record as RequestRecord)
      if (batch.length >= 256) flush()
      else if (!flushing) {
        // At most one message per FLUSH_MS: each wakes the main thread, which costs more than the copy.
        flushing = true
        setTimeout(flush, FLUSH_MS)
      }
    }
    : (...args) => send({ t: 'hook', name, args })
}

try {
  const definition = DEFINITIONS[data.workload]
  const options = { ...data.options, signal: controller.signal, hooks, ...(data.endWhen ? { endWhen: () => endRequested } : {}) } as unknown as WorkloadSettings
  const run = await runWorkload(definition, options, {
    ...data.extras,
    async beforeStart() {
      send({ t: 'ready' })
      await started
    },
  })
  send({ t: 'done', run })
} catch (error) {
  flush()
  const e = error as Error & { where?: string }
  post({ t: 'failed', name: e?.name ?? 'Error', message: e?.message ?? String(error), ...(e?.where !== undefined ? { where: e.where } : {}) })
}
// The thread is ended by the main thread (Worker.terminate) once it has the result.
