import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { reportData, reportHtml } from './build.ts'
import type { ReportInput } from './build.ts'
import type { CapacityResult } from '../../types.ts'
import type { ReportComparison } from './data.ts'
import { viewerTemplate } from './template.ts'

/**
 * Writes the self-contained HTML report of `inputs` (overlaid; with `comparison`, the first two compared)
 * to `outFile`, through a temporary file so a reader never sees half a report. Returns the bytes written.
 * With `capacity`, the inputs are the sweep's steps and the report opens with its finding.
 */
export async function writeHtmlReport(inputs: ReportInput[], outFile: string, comparison?: ReportComparison, capacity?: CapacityResult): Promise<number> {
  const html = reportHtml(await viewerTemplate(), reportData(inputs, comparison, new Date(), capacity))
  mkdirSync(dirname(outFile), { recursive: true })
  const tmp = `${outFile}.${process.pid}.tmp`
  writeFileSync(tmp, html)
  renameSync(tmp, outFile)
  return Buffer.byteLength(html)
}
