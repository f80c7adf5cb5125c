import cliProgress from 'cli-progress'
import type { RequestRecord } from '../types.ts'

/** Shows how a run is going: a bar on a terminal, a plain line every few seconds otherwise (CI logs). */
export interface Progress {
  start(label: string, total: number): void
  tick(record: RequestRecord): void
  stop(): void
}

/** Seconds between plain progress lines when stderr is not a terminal. */
const PLAIN_INTERVAL_MS = 5000

export function createProgress(stream: NodeJS.WriteStream = process.stderr, enabled = true): Progress {
  if (!enabled) return { start() {}, tick() {}, stop() {} }
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
    start(l, t) {
      label = l
      total = t
      done = 0
      failed = 0
      last = Date.now()
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
