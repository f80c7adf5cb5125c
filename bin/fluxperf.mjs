#!/usr/bin/env -S node --max-semi-space-size=8
// Runs the TypeScript sources directly (Node >= 22.18 strips types) in a checkout, and the compiled
// dist/ in an installed package, where Node refuses to strip types under node_modules.
// --max-semi-space-size=8 caps V8's young generation at 8 MB per semi-space (Node 24's default lets it
// grow larger): a 1,000,000-request run peaks at ~150 MB RSS instead of ~245 MB, at the same req/s
// (bench/run.ts runs its memory figure with these flags). `env -S` passes the flag on Linux and macOS.
import { existsSync } from 'node:fs'

const src = new URL('../src/cli/main.ts', import.meta.url)
const entry = existsSync(src) ? src : new URL('../dist/src/cli/main.js', import.meta.url)
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))
