// Worker-side setup file added by the fluxperf() plugin: a file that imports from 'fluxperf' runs workloads,
// which take seconds to minutes; Vitest's 5 s default would time it out. Setup files run before each test
// file is collected, and a test's timeout is fixed when it is collected, so vi.setConfig here reaches every
// test of that file and no other (Vitest resets the config between files).
import { readFileSync } from 'node:fs'
import { expect, inject, vi } from 'vitest'

const timeout = inject('fluxperf')?.workloadTimeout
const path = expect.getState().testPath
if (timeout && path && importsFluxperf(path)) vi.setConfig({ testTimeout: timeout, hookTimeout: timeout })

/** The file imports the workload functions: `from 'fluxperf'`, `require('fluxperf')` or `import('fluxperf')`. */
function importsFluxperf(file: string): boolean {
  let source: string
  try {
    source = readFileSync(file, 'utf8')
  } catch {
    return false
  }
  return /(?:\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*)['"]fluxperf['"]/.test(source)
}
