import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { closest } from '../didYouMean.ts'
import { InputError } from '../errors.ts'

/** The prefix that names a dataset shipped with fluxperf: `fluxperf:example` is `datasets/example.jsonl` in the package. */
export const SHIPPED_PREFIX = 'fluxperf:'

/**
 * The package's `datasets/` folder, from a checkout (`src/data/`) or an installed package (`dist/src/data/`).
 * A user's project has no `datasets/example.jsonl` of its own; `fluxperf:example` reaches the package's.
 */
export function shippedDatasetsDir(): string {
  for (const up of ['../../datasets', '../../../datasets']) {
    const dir = fileURLToPath(new URL(up, import.meta.url))
    if (existsSync(join(dir, 'example.jsonl'))) return dir
  }
  throw new Error('fluxperf: the shipped datasets/ folder is missing from the installed package')
}

/** Names of the shipped datasets (`example`, `sharegpt-sample`, ...) and folders (`seed-documents`). */
export function shippedDatasetNames(): string[] {
  const dir = shippedDatasetsDir()
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => (entry.isFile() && /\.jsonl?$/.test(entry.name)) || (entry.isDirectory() && entry.name !== 'formats'))
    .map((entry) => entry.name.replace(/\.jsonl?$/, ''))
    .sort()
}

/**
 * The file or folder a dataset argument names: `fluxperf:<name>` is a shipped dataset (`datasets/<name>.jsonl`,
 * `.json`, or the folder `<name>`); anything else is a path, returned as it is. An unknown name is an
 * {@link InputError} listing the shipped ones.
 */
export function resolveDatasetPath(path: string, flag?: string): string {
  if (!path.startsWith(SHIPPED_PREFIX)) return path
  const name = path.slice(SHIPPED_PREFIX.length)
  const dir = shippedDatasetsDir()
  const names = shippedDatasetNames()
  if (names.includes(name)) {
    for (const candidate of [`${name}.jsonl`, `${name}.json`, name]) {
      if (existsSync(join(dir, candidate))) return join(dir, candidate)
    }
  }
  const near = closest(name, names)
  const hint = near ? ` (did you mean "${SHIPPED_PREFIX}${near}"?)` : ''
  throw new InputError(`no dataset named "${name}" ships with fluxperf${hint}; shipped: ${names.map((n) => SHIPPED_PREFIX + n).join(', ')}`, flag ?? path)
}
