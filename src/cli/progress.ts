import cliProgress from 'cli-progress'
import type { RequestRecord } from '../types.ts'

/**
 * Shows how a run is going: a bar on a terminal; otherwise (CI logs) a plain line when a round starts, every
 * few seconds, and when it ends. Nothing at all with `--no-progress`.
 */
export interface Progress {
  /** One line saying what happens before the first request (`loading tokenizer (o200k_base)…`); not while a bar runs. */
  status(message: string): void
  start(label: string, total: number): void
  tick(record: RequestRecord): void
  stop(): void
}

/** Seconds between plain progress lines when stderr is not a terminal. */
const PLAIN_INTERVAL_MS = 5000

export function createProgress(stream: NodeJS.WriteStream = process.stderr, enabled = true): Progress {
  if (!enabled) return { status() {}, start() {}, tick() {}, stop() {} }
  return stream.isTTY ? barProgress(stream) : plainProgress(stream)
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar({
    stream,
    format: '{label} [{bar}] {value}/{total} requests | failed {failed} | {duration_formatted}',
    hideCursor: true,
    clearOnComplete: false,
  }, cliProgress.Presets.shades_classic)
  let failed = 0
  let running = false
  return {
    status(message) {
      if (!running) stream.write(`fluxperf: ${message}\n`)
    },
    start(label, total) {
      if (running) bar.stop()
      failed = 0
      running = true
      bar.start(total, 0, { label, failed })
    },
    tick(record) {
      if (!record.ok) failed++
      bar.increment(1, { failed })
    },
    stop() {
      if (running) bar.stop()
      running = false
    },
  }
}

function plainProgress(stream: NodeJS.WriteStream): Progress {
  let label = ''
  let total = 0
  let done = 0
  let failed = 0
  let last = 0
  const line = (): void => {
    stream.write(`[fluxperf] ${label}: ${done}/${total} requests, ${failed} failed\n`)
  }
  return {
    status(message) {
      stream.write(`fluxperf: ${message}\n`)
    },
    start(l, t) {
      label = l
      total = t
      done = 0
      failed = 0
      last = Date.now()
      // A line as the round starts: a log shows the run under way, not only once its first round ends.
      line()
    },
    tick(record) {
      done++
      if (!record.ok) failed++
      const now = Date.now()
      if (now - last >= PLAIN_INTERVAL_MS || done === total) {
        last = now
        line()
      }
    },
    stop() {},
  }
}
