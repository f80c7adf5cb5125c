/**
 * Work that must not delay the reading of chunks: run later, after the I/O that is ready by then, a few
 * tens of microseconds of it per event-loop iteration.
 *
 * What runs here is the end of every request: building its record and settling its promise, and with
 * it whatever the caller does next (the workload's bookkeeping, the next request of a closed loop). At
 * 1,000 streams the ends come together, within the last ITL. Done in the data callback that read
 * `[DONE]`, they kept the loop from reading the other streams' last chunks, whose stamps came late:
 * against bench/timedServer.c (each stream's end in the write of its last token), 1,000 streams, 7
 * interleaved runs, the median round had ~260 last chunks over 1 ms late, ~50 deferred, and ~300 in
 * round 1 when the budget left out the reactions (there the workload's code still runs cold). For a server
 * that reports no usage each end also counts tokens with js-tiktoken (~150 µs for a 128-token answer,
 * milliseconds for long prompts): counted in the data callback, ITL error p99 11–20 ms, chunks up to
 * 92 ms late (`bench/streamServer.ts --no-usage`).
 *
 * Between two iterations' jobs libuv polls the sockets (with a zero timeout, as immediates are
 * pending) and runs every ready callback first, so a chunk waits at most BUDGET_MS and one job. The
 * budget lets cheap jobs share an iteration: one job per iteration cost a poll per request, and 1-token
 * answers at 64 streams ran 15–35 % fewer requests a second. A job longer than the budget (a token
 * count) still runs alone. The cost: a record settles later than its last byte (its latency is
 * measured from the bytes, so only a closed loop's next request waits), by up to ~0.2 s when 1,000
 * usage-less streams end together.
 */

/** How long one iteration may run jobs: at least one, then more while under this. */
const BUDGET_MS = 0.05

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

async function runSome(): Promise<void> {
  const start = performance.now()
  do {
    const job = jobs[next] as () => void
    jobs[next++] = noop // let the job's closure be collected
    try {
      job()
    } catch (error) {
      // An uncaught exception, as from any callback, raised before the next job; the jobs after it still run.
      queueMicrotask(() => {
        throw error
      })
    }
    // The job's promise reactions (what the caller does with a settled record) run now, inside the budget.
    await undefined
  } while (next < jobs.length && performance.now() - start < BUDGET_MS)
  if (next === jobs.length) {
    jobs.length = 0
    next = 0
    scheduled = false
    return
  }
  if (next >= 1024) {
    // A queue that never drains still shrinks.
    jobs.splice(0, next)
    next = 0
  }
  later(runSome)
}

function noop(): void {}
