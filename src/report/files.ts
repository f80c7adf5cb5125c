import { accessSync, constants, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InputError } from '../errors.ts'
import type { RequestRecord, RoundResult, RunResult } from '../types.ts'
import { metricsSummaryCsv } from './csv.ts'
import { roundJson } from './json.ts'

/** Directories ensureOutputDir created in this process, outermost first. */
const created: string[] = []

/** Creates the output directory, or says clearly why it cannot. */
export function ensureOutputDir(dir: string, flag = '--output-dir'): void {
  try {
    const first = mkdirSync(dir, { recursive: true })
    if (first !== undefined) created.push(first)
    accessSync(dir, constants.W_OK)
  } catch (error) {
    throw new InputError(`cannot write to directory "${dir}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, flag)
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

/**
 * Removes the directories ensureOutputDir created that are still empty (or hold only empty
 * directories): a run refused for bad input leaves nothing behind. Never removes a file, nor a directory
 * that existed before.
 */
export function removeEmptyCreatedDirs(): void {
  for (const dir of created.splice(0).reverse()) removeIfEmpty(dir)
}

function removeIfEmpty(dir: string): boolean {
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return false
  }
  let empty = true
  for (const entry of entries) {
    if (!entry.isDirectory() || !removeIfEmpty(join(dir, entry.name))) empty = false
  }
  if (!empty) return false
  try {
    rmdirSync(dir)
    return true
  } catch {
    return false
  }
}
