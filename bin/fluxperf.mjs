#!/usr/bin/env -S node --max-semi-space-size=8
// Runs the TypeScript sources directly (Node >= 22.18 strips types) in a checkout, and the compiled
// dist/ in an installed package, where Node refuses to strip types under node_modules.
// --max-semi-space-size=8 caps V8's young generation at 8 MB per semi-space (Node 24's default lets it
// grow larger): a 1,000,000-request run peaks at ~150 MB RSS instead of ~245 MB, at the same req/s
// (bench/run.ts runs its memory figure with these flags). `env -S` passes the flag on Linux and macOS.
import { existsSync, readFileSync } from 'node:fs'

// Node older than package.json `engines.node` gets one line and exit 2 (the CLI's code for a
// configuration error) instead of a stack trace from undici 8 or the .ts loader. Checked before the
// dynamic import below; only node:fs is loaded first. src/nodeVersion.ts does the same for the
// Vitest plugin, from the same package.json field.
const engines = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node
const min = /^>=\s*v?(\d+(?:\.\d+)*)$/.exec(engines.trim())[1]
const have = process.versions.node.split(/[-+]/)[0].split('.').map(Number)
const need = min.split('.').map(Number)
const diff = need.map((n, i) => (have[i] || 0) - n).find((d) => d !== 0) ?? 0
if (diff < 0) {
  process.stderr.write(`fluxperf needs Node.js >= ${min} (undici 8); this is Node.js v${process.versions.node}. ` +
    'Install a newer Node.js (https://nodejs.org) or run it through npx node@24.\n')
  process.exitCode = 2
} else {
  const src = new URL('../src/cli/main.ts', import.meta.url)
  const entry = existsSync(src) ? src : new URL('../dist/src/cli/main.js', import.meta.url)
  const { main } = await import(entry.href)
  process.exitCode = await main(process.argv.slice(2))
}
