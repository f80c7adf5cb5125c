import type { DatasetProblem } from './rows.ts'
import { readRows } from './rows.ts'

/** The result of {@link validateDataset}. */
export interface DatasetReport {
  /** Rows that loaded cleanly. */
  rows: number
  /** Every problem found, in file order (`line` 0 = the file as a whole). */
  problems: DatasetProblem[]
}

/**
 * Reads a whole dataset and collects every malformed row instead of stopping at the first (for
 * `fluxperf data validate`). Reading stops early only where the rest cannot be read: binary content,
 * or a JSON array file that is not valid JSON. A missing file, a directory or an unreadable file
 * throws InputError, as {@link loadDataset} does.
 */
export async function validateDataset(path: string): Promise<DatasetReport> {
  const report: DatasetReport = { rows: 0, problems: [] }
  for await (const event of readRows(path)) {
    if (event.kind === 'row') report.rows++
    else report.problems.push(event.problem)
  }
  return report
}
