import { existsSync, readFileSync } from 'node:fs'

/** fluxperf's version, from its package.json (two levels up in a checkout, three in the built dist/). */
function readVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    const url = new URL(up, import.meta.url)
    if (existsSync(url)) {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'fluxperf' && pkg.version) return pkg.version
    }
  }
  return '0.0.0'
}

export const VERSION = readVersion()
