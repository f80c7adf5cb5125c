import { join } from 'node:path'

/**
 * Where the reporter writes a test's n-th RunResult: `<outputDir>/<test full name>[-n].json` (and
 * `.csv`). Computed the same way in the worker (for failure messages) and in the reporter.
 */
export function reportPathFor(outputDir: string, testFullName: string, index: number): string {
  const slug = testFullName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'test'
  return join(outputDir, `${slug}${index > 0 ? `-${index + 1}` : ''}.json`)
}
