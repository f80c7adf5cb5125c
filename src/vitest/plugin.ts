/// <reference types="vitest/config" />
import './nodeGuard.ts'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'vite'
import type { Vitest } from 'vitest/node'
import { startMockServer } from '../mock/index.ts'
import type { MockServerOptions } from '../mock/index.ts'
import type { FluxperfProvided } from './augment.ts'
import { FluxperfReporter } from './reporter.ts'

/** Options of the `fluxperf()` Vitest plugin. */
export interface FluxperfPluginOptions {
  /** Endpoint for every workload. @default process.env.FLUXPERF_ENDPOINT, else the built-in mock */
  endpoint?: string
  /** Where the reporter writes each test's RunResult (JSON and CSV). @default 'results' */
  outputDir?: string
  /** Benchmark files. @default ['**\/*.bench.?(c|m)[jt]s'] (`.bench.ts`, `.bench.mts`, `.bench.js`, ...) */
  include?: string[]
  /** Options of the built-in mock when it is started. */
  mock?: MockServerOptions
  /**
   * With a configured endpoint: empty its prefix cache before each cold round, the serving engine's way
   * (vLLM `/reset_prefix_cache`, SGLang `/flush_cache`, llama.cpp's slots), so cache-speedup assertions
   * compare a really cold round; false for a shared server whose cache must not be touched. @default true
   */
  resetCache?: boolean
  /**
   * Test and hook timeout, ms, in files that import from `fluxperf` (they run workloads, which take seconds to
   * minutes, far past Vitest's 5 s default); `false` leaves Vitest's. A `testTimeout` in your config, or a
   * timeout given to a test, wins. @default 600_000 (10 minutes)
   */
  workloadTimeout?: number | false
  /** Write `<outputDir>/report.html` at the end of a run: every test's runs overlaid in one HTML report. @default true */
  report?: boolean
}

/** Test files of these types (`.bench.ts`, `.bench.mts`, `.bench.cjs`, ...) are benchmarks. */
const BENCH_FILES = ['**/*.bench.?(c|m)[jt]s']

const started = new WeakSet<Vitest>()

/**
 * The Vitest plugin: makes `*.bench.ts` benchmark files, registers the matchers in every worker, starts
 * the built-in mock once per Vitest instance when no endpoint is configured (and closes it on exit), and
 * adds the reporter.
 */
export function fluxperf(options: FluxperfPluginOptions = {}): Plugin {
  const outputDir = options.outputDir ?? 'results'
  const sibling = (name: string): string => fileURLToPath(new URL(`./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url))
  let workloadTimeout: number | undefined
  return {
    name: 'fluxperf',
    config: (user) => {
      // A timeout the user configured is theirs; only Vitest's default gives way in workload files.
      const configured = user.test?.testTimeout !== undefined
      workloadTimeout = options.workloadTimeout === false || configured ? undefined : (options.workloadTimeout ?? 600_000)
      return {
        test: {
          benchmark: { include: options.include ?? BENCH_FILES },
          setupFiles: [sibling('setup'), sibling('timeouts')],
        },
      }
    },
    // configureVitest runs once per project (the bench project is a clone): the guard keeps one mock.
    async configureVitest({ vitest }) {
      if (started.has(vitest)) return
      started.add(vitest)
      const provided: FluxperfProvided = { endpoint: options.endpoint ?? process.env['FLUXPERF_ENDPOINT'] ?? '', outputDir, resetCache: options.resetCache ?? true, workloadTimeout }
      if (!provided.endpoint) {
        const mock = await startMockServer({ port: 0, ...options.mock })
        provided.endpoint = `${mock.url}/v1/chat/completions`
        provided.resetCacheUrl = `${mock.url}/reset_prefix_cache`
        vitest.onClose(() => mock.close())
      }
      vitest.provide('fluxperf', provided)
      // Pushed here, not set in config(): a --reporter flag replaces config reporters but not this one.
      vitest.config.reporters.push(new FluxperfReporter({ outputDir, report: options.report ?? true }))
    },
  }
}
