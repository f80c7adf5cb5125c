/**
 * Dependencies loaded on first use instead of at start-up. A run against a plain-HTTP server never
 * needs undici (http1Pool.ts carries its requests) nor prom-client (only the mock's `/metrics` uses it),
 * yet importing them put 4 MB more in every process's heap (21.6 MB against 17.6 after importing the CLI),
 * and V8 sizes its old generation from the heap that survives: a million-request run peaked higher for
 * code it never ran (docs/performance.md, "2026-12-07, 12:30"). Both are CommonJS, so `require` loads
 * them synchronously, as `openEndpoint` and the mock's constructor need. test/cli/lazyModules.test.ts
 * keeps it so.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

let undiciModule: typeof import('undici') | undefined
let promClientModule: typeof import('prom-client') | undefined

/** undici, loaded the first time a request needs it (TLS, a proxy, a scrape, a cache reset, a health check, Hugging Face). */
export function undici(): typeof import('undici') {
  return (undiciModule ??= require('undici') as typeof import('undici'))
}

/** prom-client, loaded when the first mock server starts. */
export function promClient(): typeof import('prom-client') {
  return (promClientModule ??= require('prom-client') as typeof import('prom-client'))
}
