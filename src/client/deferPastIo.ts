/**
 * Work that must not delay the reading of chunks: run later, a quarter of a millisecond of it per
 * event-loop iteration.
 *
 * Counting tokens with js-tiktoken takes ~150 µs for a 128-token answer (longer for long prompts), and a
 * server that reports no usage makes every request count its prompt and answer when it ends. At 1,000
 * streams the ends come together, and counting in the data callback held the loop for tens of
 * milliseconds while the other streams' last chunks waited to be stamped: ITL error p99 11–20 ms, chunks up
 * to 92 ms late (`bench/streamServer.ts --no-usage`). Between two jobs libuv polls the sockets (with a
 * zero timeout, as immediates are pending) and runs every ready callback first, so a chunk waits at most
 * for BUDGET_MS and one job. The cost: a record built this way settles later (a closed loop's next
 * request waits for it), by up to ~0.2 s when 1,000 usage-less streams end together.
 */

/**
 * How long one iteration may run jobs: at least one, then more while under this budget, so short jobs
 * do not each wait for an iteration of their own. A chunk that arrives meanwhile waits at most this
 * plus one job.
 */
const BUDGET_MS = 0.25

// Taken at load, so a test's fake timers (which replace setImmediate) cannot hold records back.
const later = setImmediate

const jobs: (() => void)[] = []
let next = 0
let scheduled = false

/**
 * Runs `job` in a later event-loop iteration, after the I/O ready by then; jobs run in order. A job
 * that throws is an uncaught exception, as in any callback; the jobs after it still run.
 */
export function deferPastIo(job: () => void): void {
  jobs.push(job)
  if (!scheduled) {
    scheduled = true
    later(runSome)
  }
}

function runSome(): void {
  const start = performance.now()
  try {
    do {
      const job = jobs[next] as () => void
      jobs[next++] = noop // let the job's closure be collected
      job()
    } while (next < jobs.length && performance.now() - start < BUDGET_MS)
  } finally {
    if (next === jobs.length) {
      jobs.length = 0
      next = 0
      scheduled = false
    } else {
      if (next >= 1024) {
        // A queue that never drains still shrinks.
        jobs.splice(0, next)
        next = 0
      }
      later(runSome)
    }
  }
}

function noop(): void {}
