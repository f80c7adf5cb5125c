/**
 * Work that must not delay the reading of chunks: run later, after the I/O that is ready by then, a few
 * tens of microseconds of it per event-loop iteration.
 *
 * What runs here is the end of every request: building its record (counting tokens when the server
 * reported no usage) and settling its promise, with whatever the caller does next. At 1,000 streams the
 * ends come together; done in the data callback that read `[DONE]`, they delayed the reading, and so the
 * stamps, of the other streams' last chunks. Between two iterations' jobs libuv reads every ready socket,
 * so a chunk waits at most BUDGET_MS and one job. The cost: a record settles after its last byte (its
 * latency is fixed from the bytes), and a closed loop's next request waits for it.
 *
 * Why, with the figures: docs/design/timing.md#deferred-records
 */

/**
 * How long one iteration may run jobs: at least one, then more while under this. Cheap jobs share an
 * iteration (one per iteration cost a socket poll per request); a longer one (a token count) runs alone.
 */
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
