// Worker-side setup file added by the fluxperf() plugin: registers the matchers and points the
// workload functions at the plugin's endpoint, feeding each RunResult to the reporter via task meta.
import './nodeGuard.ts'
import { expect, inject, TestRunner } from 'vitest'
import { configureWorkloadDefaults } from '../workloads/index.ts'
import type { RunResult } from '../types.ts'
import { matchers, sendNoticesToReporter } from './matchers.ts'
import { reportPathFor } from './reportPath.ts'
import './augment.ts'

expect.extend(matchers)
// A passing matcher's notice (a baseline written) goes to the reporter through the test's meta.
sendNoticesToReporter()

const provided = inject('fluxperf')
configureWorkloadDefaults({
  endpoint: provided?.endpoint,
  resetCacheUrl: provided?.resetCacheUrl,
  resetCache: provided?.resetCache,
  beginRun() {
    // Read now, while the calling test is still the current one (it is not after an await).
    const task = TestRunner.getCurrentTest() ?? expect.getState().task
    if (!task) return { finished() {} }
    const meta = task.meta as { fluxperf?: { runs: RunResult[] } }
    meta.fluxperf ??= { runs: [] }
    const runs = meta.fluxperf.runs
    return {
      // The reporter writes each run of the test to its own place; the run records where.
      outputDir: provided?.outputDir ? reportPathFor(provided.outputDir, task.fullName, runs.length) : undefined,
      finished: (run: RunResult) => {
        runs.push(run)
      },
    }
  },
})
