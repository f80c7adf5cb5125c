import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { runCli } from '../helpers/cli.ts'
import { sseServer } from '../helpers/sseServer.ts'

/**
 * undici and prom-client are loaded on first use (src/lazyRequire.ts): a plain-HTTP run needs neither,
 * and their modules' heap raised a long run's peak RSS. A module hook in the CLI's process lists the
 * packages it loaded; emptying a cache (a request through undici) shows the hook sees a late load.
 */
const dir = mkdtempSync(join(tmpdir(), 'fluxperf-lazy-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const hook = join(dir, 'hook.mjs')
writeFileSync(hook, `import { registerHooks } from 'node:module'
import { writeFileSync } from 'node:fs'
const seen = new Set()
registerHooks({ resolve(specifier, context, next) {
  const r = next(specifier, context)
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url)
  if (m) seen.add(m[1])
  return r
} })
process.on('exit', () => writeFileSync(process.env.FLUXPERF_TEST_LOADED, JSON.stringify([...seen])))
`)

const noProxyEnv = { HTTP_PROXY: '', http_proxy: '', HTTPS_PROXY: '', https_proxy: '', NO_PROXY: '', no_proxy: '' }

async function packagesLoaded(name: string, extra: (base: string) => string[]): Promise<string[]> {
  const server = await sseServer({})
  try {
    const loaded = join(dir, `${name}.json`)
    const r = await runCli(['run', '--endpoint', `${server.url}/v1/chat/completions`, '--allow-unverified-cold-round', '--dataset', 'datasets/example.jsonl',
      '--num-samples', '2', '--no-progress', '--output-dir', join(dir, name), ...extra(server.url)],
    { env: { ...noProxyEnv, NODE_OPTIONS: `--import ${hook}`, FLUXPERF_TEST_LOADED: loaded } })
    expect(r.stderr).not.toMatch(/error/i)
    expect(r.code).toBe(0)
    return JSON.parse(readFileSync(loaded, 'utf8')) as string[]
  } finally {
    await server.close()
  }
}

test('a plain-HTTP run loads neither undici nor prom-client', async () => {
  const loaded = await packagesLoaded('plain', () => [])
  expect(loaded).toContain('hdr-histogram-js')
  expect(loaded).not.toContain('undici')
  expect(loaded).not.toContain('prom-client')
})

test('undici is loaded when a request needs it (POST to --reset-cache-url)', async () => {
  const loaded = await packagesLoaded('reset', (base) => ['--reset-cache-url', `${base}/reset_prefix_cache`])
  expect(loaded).toContain('undici')
})
