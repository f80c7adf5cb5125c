import { readdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import type { Outcome } from './scheduling.ts'

/** The spinning thread's name (its `comm`, as `top -H` and /proc/self/task/<tid>/comm show it). */
export const SPINNER_THREAD_NAME = 'fluxperf-spin'

/** A running keepCpuAwake(): the spinning thread, until stopped. */
export interface AwakeCpu {
  /** The spinning thread's id (in /proc/self/task). */
  readonly tid: string
  /** Ends the thread and waits until it has left /proc/self/task; false if it was still listed after that. Idempotent. */
  stop(): Promise<boolean>
}

/** Runs in the worker: names its thread, moves it to SCHED_IDLE, says whether that worked, then spins. */
const SPINNER = `
const { readlinkSync, writeFileSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const { parentPort } = require('node:worker_threads')
let tid = ''
try { tid = readlinkSync('/proc/thread-self').split('/').at(-1); writeFileSync('/proc/thread-self/comm', ${JSON.stringify(SPINNER_THREAD_NAME)}) } catch {}
const result = tid === '' ? undefined : spawnSync('chrt', ['--idle', '--pid', '0', tid], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 2000 })
const reason = tid === '' ? '/proc/thread-self unreadable' : result.error ? 'chrt not found (util-linux)' : result.status !== 0 ? 'chrt refused (' + (result.stderr.trim().split('\\n')[0] || 'exit ' + result.status) + ')' : ''
parentPort.postMessage({ tid, reason })
if (reason === '') for (;;) {}
`

/** Polls for a thread to leave /proc/self/task after it ended: this many checks, 10 ms apart. */
const EXIT_CHECKS = 200

/**
 * Keeps the event loop's core from halting while the loop sleeps: a worker thread in the idle class
 * spins, so the core always runs something and the loop, woken by arriving bytes, takes it at once (a
 * SCHED_FIFO loop preempts an idle-class thread on wake-up; a halted virtual CPU took milliseconds to
 * wake). The user-space form of the kernel's `idle=poll`; the cost is a core that shows 100 % busy. Only
 * beside a real-time loop. Why: docs/design/precision.md.
 * @returns the running thread, or why none runs
 */
export async function keepCpuAwake(): Promise<Outcome<AwakeCpu>> {
  if (process.platform !== 'linux') return { ok: false, reason: 'Linux only' }
  const worker = new Worker(SPINNER, { eval: true, stdout: true, stderr: true, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 } })
  worker.unref()
  const started = await new Promise<{ tid: string; reason: string }>((resolve) => {
    worker.once('message', resolve)
    worker.once('error', (error) => resolve({ tid: '', reason: `the thread failed (${error.message})` }))
    worker.once('exit', () => resolve({ tid: '', reason: 'the thread ended' }))
  })
  if (started.reason !== '') {
    await worker.terminate()
    await threadGone(started.tid)
    return { ok: false, reason: started.reason }
  }
  let stopped: Promise<boolean> | undefined
  return {
    ok: true,
    value: {
      tid: started.tid,
      stop: () => (stopped ??= worker.terminate().then(() => threadGone(started.tid))),
    },
  }
}

/** Waits (EXIT_CHECKS at most) until thread `tid` is no longer listed; whether it left. */
async function threadGone(tid: string): Promise<boolean> {
  if (tid === '') return true
  for (let i = 0; i < EXIT_CHECKS; i++) {
    try {
      if (!readdirSync('/proc/self/task').includes(tid)) return true
    } catch {
      return true
    }
    await sleep(10)
  }
  return false
}
