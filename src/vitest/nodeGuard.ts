// Imported first by every entry of fluxperf/vitest (index.ts, plugin.ts, setup.ts), so it runs before
// the modules that fail on an old Node (undici 8 needs zlib's zstd, Vitest 5 Map.groupBy): there it
// prints one line and exits 2, the CLI's code for a configuration error, instead of a stack trace.
import { writeSync } from 'node:fs'
import { checkNodeVersion } from '../nodeVersion.ts'

const problem = checkNodeVersion()
if (problem !== undefined) {
  writeSync(2, `${problem}\n`)
  process.exit(2)
}
