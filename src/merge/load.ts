import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { readBaseline } from '../baseline/index.ts'
import { InputError } from '../errors.ts'
import type { RunResult } from '../types.ts'

/**
 * The RunResult a fluxperf command (or `fluxperf merge`) wrote: `dir/run.json`, or the file itself. Results of
 * older versions are read in today's shape. For a Vitest test to assert on a merged run:
 * `expect(loadRun('results/merged')).toMeetSlo(slo)`.
 * @throws InputError naming the path when it holds no run
 */
export function loadRun(path: string): RunResult {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'run.json') : path
  if (!existsSync(file)) throw new InputError(existsSync(path) ? 'no run.json in this directory (did the run, or this shard, fail before writing it?)' : 'no such file or directory', path)
  return readBaseline(file)
}
