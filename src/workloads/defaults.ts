import type { RunResult } from '../types.ts'
import type { EndpointSettings } from './options.ts'

/**
 * Defaults every workload function falls back on, set once by a host: the Vitest plugin's setup file
 * sets the endpoint it started (or was given) and a hook that hands each RunResult to its reporter.
 */
export interface WorkloadDefaults extends Partial<EndpointSettings> {
  /** POST here to empty the server's prefix cache before each cold round. */
  resetCacheUrl?: string
  /**
   * Called synchronously when a workload function starts (so the host can tell which test is running,
   * before any await): the host says where the run's reports go, and hears the finished RunResult (the
   * Vitest reporter's feed).
   */
  beginRun?: () => { outputDir?: string; finished(run: RunResult): void }
}

let current: WorkloadDefaults = {}

/** Replaces the defaults (the Vitest setup file calls this in each worker). */
export function configureWorkloadDefaults(defaults: WorkloadDefaults): void {
  current = { ...defaults }
}

/** The defaults in force. */
export function workloadDefaults(): Readonly<WorkloadDefaults> {
  return current
}
