/**
 * Work that must not delay the reading of chunks: run later, one job per event-loop iteration.
 *
 * Counting tokens with js-tiktoken takes ~150 µs for a 128-token answer (longer for long prompts), and a
 * server that reports no usage makes every request count its prompt and answer when it ends. At 1,000
 * streams the ends come together, and counting in the data callback held the loop for tens of
 * milliseconds while the other streams' last chunks waited to be stamped: ITL error p99 11–20 ms, chunks up
 * to 92 ms late (`bench/streamServer.ts --no-usage`). Between two jobs libuv polls the sockets (with a
 * zero timeout, as immediates are pending) and runs every ready callback first, so a chunk waits at most
 * for one job. The cost: a record built this way settles later (a closed loop's next request waits for
 * it), by up to ~0.2 s when 1,000 usage-less streams end together. Letting an iteration run jobs for up
 * to 0.25 ms instead saved nothing that mattered (the counting itself is the wait) and measured no
 * better (1,000 streams without usage, ITL error p99 0.71–2.02 ms, against 0.20–1.95 with one job per
 * iteration in the same hour), so a chunk's wait stays bounded by one job.
 */

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
    later(runOne)
  }
}

function runOne(): void {
  const job = jobs[next] as () => void
  jobs[next++] = noop // let the job's closure be collected
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
    later(runOne)
  }
  job()
}

function noop(): void {}
