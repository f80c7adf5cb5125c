/**
 * Work that must not delay the reading of chunks: run later, one job per event-loop iteration.
 *
 * Counting tokens with js-tiktoken takes ~150 µs for a 128-token answer (longer for long prompts), and a
 * server that reports no usage makes every request count its prompt and answer when it ends. At 1,000
 * streams the ends come together, and counting in the data callback held the loop for tens of
 * milliseconds while the other streams' last chunks waited to be stamped: ITL error p99 11–20 ms, chunks up
 * to 92 ms late (`bench/streamServer.ts --no-usage`). Between two jobs libuv polls the sockets (with a
 * zero timeout, as immediates are pending) and runs every ready callback first, so a chunk waits at most
 * for one job.
 */

const jobs: (() => void)[] = []
let next = 0
let scheduled = false

/** Runs `job` in a later event-loop iteration, after the I/O ready by then; jobs run in order, one per iteration. */
export function deferPastIo(job: () => void): void {
  jobs.push(job)
  if (!scheduled) {
    scheduled = true
    setImmediate(runOne)
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
    setImmediate(runOne)
  }
  job()
}

function noop(): void {}
