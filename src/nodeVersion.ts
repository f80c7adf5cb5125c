import { existsSync, readFileSync } from 'node:fs'

// The Node.js version check shared by the entry points that TypeScript can load (the Vitest plugin).
// bin/fluxperf.mjs runs before TypeScript can, so it repeats these few lines in plain JS; both read the
// minimum from package.json `engines.node`, the one place it is written. Only node:fs is imported, so
// this module loads on any Node old enough to be told it is too old.

/** The minimum Node.js version as written in package.json `engines.node` (">=22.19" gives "22.19"). */
export const MIN_NODE: string = readMinNode()

/**
 * Returns the one-line message for a Node.js older than {@link MIN_NODE}, or undefined when `version`
 * (e.g. "20.20.2" or "v20.20.2"; a pre-release suffix is ignored) is new enough.
 */
export function checkNodeVersion(version: string = process.versions.node, min: string = MIN_NODE): string | undefined {
  if (compareVersions(version, min) >= 0) return undefined
  return `fluxperf needs Node.js >= ${min} (undici 8); this is Node.js v${version.replace(/^v/, '')}. ` +
    'Install a newer Node.js (https://nodejs.org) or run it through npx node@24.'
}

/** Compares dotted versions numerically ("22.9" < "22.19"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a)
  const pb = parts(b)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

function parts(version: string): number[] {
  return version.replace(/^v/, '').split(/[-+]/)[0]!.split('.').map((p) => Number.parseInt(p, 10) || 0)
}

/** Reads `engines.node` from fluxperf's package.json (one level up in a checkout, two in dist/). */
function readMinNode(): string {
  for (const up of ['../package.json', '../../package.json']) {
    const url = new URL(up, import.meta.url)
    if (!existsSync(url)) continue
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; engines?: { node?: string } }
    const min = pkg.name === 'fluxperf' ? /^>=\s*v?(\d+(?:\.\d+)*)$/.exec(pkg.engines?.node?.trim() ?? '')?.[1] : undefined
    if (min) return min
  }
  throw new Error('fluxperf: package.json with engines.node ">=X.Y" not found next to the sources')
}
