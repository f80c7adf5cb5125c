import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { InputError } from '../errors.ts'
import type { RunResult } from '../types.ts'
import { upgradeRunResult } from './upgrade.ts'

/** What to do with the baseline file, decided like Vitest decides for snapshots. */
export type BaselineAction = 'compare' | 'write' | 'missing-in-ci'

/**
 * `write` when the file is missing locally or `FLUXPERF_UPDATE_BASELINE=1`; `missing-in-ci` when it is
 * missing under `CI=true` (a gate must never pass by creating its own baseline); else `compare`.
 */
export function baselineAction(path: string, env: NodeJS.ProcessEnv = process.env): BaselineAction {
  if (isTruthy(env['FLUXPERF_UPDATE_BASELINE'])) return 'write'
  if (existsSync(path)) return 'compare'
  return isTruthy(env['CI']) ? 'missing-in-ci' : 'write'
}

/** Reads a baseline written by {@link writeBaseline}; errors name the file. */
export function readBaseline(path: string): RunResult {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    // JSON.parse quotes the text around the error, line breaks included: the message stays one line.
    throw new InputError(`cannot read baseline (${(error as Error).message.replace(/\s+/g, ' ').trim()})`, path)
  }
  // Baselines written by fluxperf 0.1 (schema 1) are read as schema 2.
  const run = upgradeRunResult(parsed)
  if (!run) throw new InputError('not a fluxperf baseline (expected a RunResult with schemaVersion 1 or 2)', path)
  return run
}

/** Stores a run as the baseline (the whole RunResult: its histograms make later comparisons exact). */
export function writeBaseline(path: string, run: RunResult): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, JSON.stringify(run, null, 2) + '\n')
}

function isTruthy(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false'
}
