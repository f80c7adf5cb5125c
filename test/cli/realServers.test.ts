import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import type { RunResult } from '../../src/types.ts'
import { runCli } from '../helpers/cli.ts'
import { forwardProxy } from '../helpers/forwardProxy.ts'
import { sseServer } from '../helpers/sseServer.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-real-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const noProxyEnv = { HTTP_PROXY: '', http_proxy: '', HTTPS_PROXY: '', https_proxy: '', NO_PROXY: '', no_proxy: '' }

/** Each command, as a user would run it against `base` (a server root such as http://127.0.0.1:8000). */
function commands(base: string | undefined, out: (name: string) => string): Record<string, string[]> {
  const target = (cmd: string): string[] => {
    if (base === undefined) return ['--mock-server']
    if (cmd === 'run') return ['--endpoint', `${base}/v1/chat/completions`]
    if (cmd === 'multi-turn') return [`${base}/v1`]
    return ['--base-url', base]
  }
  return {
    // These servers cannot empty a cache nor report cached tokens: the cold round is unverifiable, by design.
    'run': ['run', ...target('run'), '--allow-unverified-cold-round', '--dataset', 'datasets/example.jsonl', '--num-samples', '3', '--concurrency', '2', '--max-output-tokens', '4', '--seed', '1', '--no-progress', '--output-dir', out('run')],
    'multi-turn': ['multi-turn', ...target('multi-turn'), '--allow-unverified-cold-round', '-c', '2', '-t', '3', '-m', '4', '-p', '2', '--min-delay', '0', '--max-delay', '0.01', '--seed', '1', '--no-progress', '--output-dir', out('multi-turn')],
    'multi-round-qa': ['multi-round-qa', ...target('multi-round-qa'), '--qps', '8', '--time', '1.5', '--num-users', '3', '--num-rounds', '2', '--answer-len', '4', '--seed', '1', '--no-progress', '--output-dir', out('qa'), '--output', join(out('qa'), 's.csv')],
  }
}

function runJson(path: string): RunResult {
  return JSON.parse(readFileSync(join(path, 'run.json'), 'utf8')) as RunResult
}

describe('every command against a server that closes after each streamed response (llama.cpp), default settings', () => {
  for (const name of ['run', 'multi-turn', 'multi-round-qa']) {
    test(`${name}: no request lost`, async () => {
      const s = await sseServer({ closeAfterResponse: true, keepAliveHeader: 'timeout=5, max=100' })
      cleanups.push(() => s.close())
      const base = s.url.replace(/\/v1\/chat\/completions$/, '')
      const out = (n: string): string => join(dir, 'closing', n)
      const args = commands(base, out)[name] as string[]
      const r = await runCli(args, { env: noProxyEnv })
      const outDir = args[args.indexOf('--output-dir') + 1] as string
      const run = runJson(outDir)
      const total = run.rounds.reduce((n, x) => n + x.total, 0)
      expect(total).toBeGreaterThan(0)
      expect(run.rounds.reduce((n, x) => n + x.failed, 0)).toBe(0)
      expect(r.code).toBe(0)
      expect(run.transport?.connections?.learnedIdleLimitMs).toBe(0)
    })
  }
})

describe('--proxy reaches every command', () => {
  for (const name of ['run', 'multi-turn', 'multi-round-qa']) {
    test(name, async () => {
      const proxy = await forwardProxy()
      cleanups.push(() => proxy.close())
      const out = (n: string): string => join(dir, 'proxy', n)
      const args = commands(undefined, out)[name] as string[]
      const r = await runCli([...args, '--proxy', proxy.url], { env: noProxyEnv })
      expect(r.code).toBe(0)
      const run = runJson(args[args.indexOf('--output-dir') + 1] as string)
      expect(run.transport?.client).toBe('undici-proxy')
      expect(proxy.forwarded()).toBeGreaterThan(0)
    })
  }

  test('a proxy flag that is no URL is a usage error (exit 2) naming the flag', async () => {
    const r = await runCli(['run', '--mock-server', '--dataset', 'datasets/example.jsonl', '--proxy', 'not a url'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--proxy/)
  })
})

describe('credentials in the endpoint URL', () => {
  test('reach no output file and no console line', async () => {
    const s = await sseServer({})
    cleanups.push(() => s.close())
    const out = join(dir, 'userinfo')
    const url = s.url.replace('http://', 'http://alice:Pl4nted-S3cret@')
    const r = await runCli(['run', '--endpoint', url, '--allow-unverified-cold-round', '--dataset', 'datasets/example.jsonl', '--num-samples', '2', '--save-requests', '--no-progress', '--output-dir', out], { env: noProxyEnv })
    expect(r.code).toBe(0)
    expect(`${r.stdout}${r.stderr}`).not.toContain('Pl4nted-S3cret')
    const { readdirSync } = await import('node:fs')
    const files = readdirSync(out)
    expect(files.length).toBeGreaterThan(2)
    for (const file of files) expect(readFileSync(join(out, file), 'utf8'), file).not.toContain('Pl4nted-S3cret')
  })
})
