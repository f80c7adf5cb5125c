import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InputError } from '../errors.ts'
import type { RequestRecord, RoundResult, RunResult } from '../types.ts'
import { metricsSummaryCsv } from './csv.ts'
import { roundJson } from './json.ts'

/** Creates the output directory, or says clearly why it cannot. */
export function ensureOutputDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true })
    accessSync(dir, constants.W_OK)
  } catch (error) {
    throw new InputError(`cannot write to output directory "${dir}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, '--output-dir')
  }
}

/** `concurrency_{c}_round_{r}.json`, written as soon as the round completes. */
export function writeRoundFile(dir: string, run: Pick<RunResult, 'endpoint' | 'model' | 'seed' | 'config'>, round: RoundResult, records: readonly RequestRecord[]): string {
  const path = join(dir, `concurrency_${round.concurrency}_round_${round.round}.json`)
  writeFileSync(path, roundJson(run, round, records))
  return path
}

/** `metrics_summary.csv` and `run.json` (the whole RunResult, fluxperf's own schema). */
export function writeRunFiles(dir: string, run: RunResult): string[] {
  const csv = join(dir, 'metrics_summary.csv')
  const json = join(dir, 'run.json')
  writeFileSync(csv, metricsSummaryCsv(run))
  writeFileSync(json, JSON.stringify(run, null, 2) + '\n')
  return [csv, json]
}
