import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { hasStackTrace, runCli } from '../helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-input-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const base = ['run', '--mock-server', '--dataset', 'datasets/example.jsonl', '--num-samples', '1', '--no-progress']

function expectUsageError(r: { code: number | null; stderr: string }, flag: RegExp): void {
  expect(r.code).toBe(2)
  expect(r.stderr).toMatch(flag)
  expect(hasStackTrace(r.stderr)).toBe(false)
}

describe('bad flags are refused before anything is sent (exit 2)', () => {
  test('a --header without a colon does not echo its value (it may be a secret)', async () => {
    const r = await runCli([...base, '--header', 'sk-Planted-Header-Secret', '--output-dir', join(dir, 'h1')])
    expectUsageError(r, /--header/)
    expect(r.stderr).not.toContain('Planted')
  })

  test.each([['Bad Name: x', /not a valid header name/], ['X-Ok: a\nb', /line break/]])('--header %j', async (header, message) => {
    const r = await runCli([...base, '--header', header, '--output-dir', join(dir, 'h2')])
    expectUsageError(r, message)
  })

  test('--api-key with an Authorization header: one would silently replace the other', async () => {
    const r = await runCli([...base, '--api-key', 'k1234', '--header', 'Authorization: Bearer other', '--output-dir', join(dir, 'auth')])
    expectUsageError(r, /--api-key.*not both/)
  })

  test('an unwritable --debug-log-dir is named as such', async () => {
    const file = join(dir, 'a-file')
    writeFileSync(file, 'x')
    const r = await runCli([...base, '--debug', '--debug-log-dir', join(file, 'sub'), '--output-dir', join(dir, 'dbg')])
    expectUsageError(r, /--debug-log-dir/)
  })

  test('fluxperf mock on a port in use: exit 2 naming --port', async () => {
    const busy = createServer()
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
    try {
      const r = await runCli(['mock', '--port', String((busy.address() as AddressInfo).port)])
      expectUsageError(r, /--port.*in use/)
    } finally {
      await new Promise((r) => busy.close(r))
    }
  })
})

describe('an input error leaves no output directory behind', () => {
  test.each([
    ['run', ['run', '--mock-server', '--dataset', 'no-such-file.jsonl']],
    ['multi-turn', ['multi-turn', '--mock-server', '-d', 'no-such-dir']],
    ['multi-round-qa', ['multi-round-qa', '--mock-server', '--qps', '1', '--time', '1', '--sharegpt', 'no-such-file.json']],
  ])('%s', async (_name, args) => {
    const out = join(dir, `never-${_name}`, 'nested')
    const r = await runCli([...args, '--output-dir', out])
    expect(r.code).toBe(2)
    expect(existsSync(join(dir, `never-${_name}`))).toBe(false)
  })

  test('a directory that existed before is left alone', async () => {
    const out = join(dir, 'existing')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(out)
    const r = await runCli(['run', '--mock-server', '--dataset', 'no-such-file.jsonl', '--output-dir', out])
    expect(r.code).toBe(2)
    expect(existsSync(out)).toBe(true)
  })
})
