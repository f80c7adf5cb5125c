import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { runOpenLoop } from '../../src/schedule/index.ts'
import { connectionCap } from '../../src/workloads/run.ts'
import { hasStackTrace, runCli } from '../helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-unbounded-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('--concurrency 1000000000 runs: no more connections than conversations are opened', async () => {
  const out = join(dir, 'huge-concurrency')
  const r = await runCli(['run', '--mock-server', '--dataset', 'datasets/example.jsonl', '--num-samples', '3', '--concurrency', '1000000000', '--max-output-tokens', '4', '--no-progress', '--output-dir', out])
  expect(r.code).toBe(0)
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { transport: { connections: { opened: number } } }
  expect(run.transport.connections.opened).toBeLessThanOrEqual(3)
})

test('multi-round-qa --qps 1e9: a usage error naming --qps, not a frozen schedule', async () => {
  const r = await runCli(['multi-round-qa', '--mock-server', '--qps', '1e9', '--time', '60', '--output-dir', join(dir, 'qa'), '--output', join(dir, 'qa', 's.csv')])
  expect(r.code).toBe(2)
  expect(r.stderr).toMatch(/--qps.*at most 1,000,000/)
  expect(hasStackTrace(r.stderr)).toBe(false)
})

test('an open loop far behind its schedule still yields: an abort from a timer stops it', async () => {
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 0)
  function* endless(): Generator<number> {
    for (;;) yield 0
  }
  let fired = 0
  const run = await runOpenLoop({ offsets: endless(), signal: controller.signal, onArrival: () => fired++ })
  expect(run.stopped).toBe(true)
  expect(fired).toBeGreaterThan(0)
})

test('under ulimit -n 76 the run opens at most 6 connections (76 less the reserve of 64, halved for the in-process mock) and says why', async () => {
  const { spawnSync } = await import('node:child_process')
  const out = join(dir, 'ulimit')
  const bin = new URL('../../bin/fluxperf.mjs', import.meta.url).pathname
  const r = spawnSync('bash', ['-c', `ulimit -n 76 && exec "${process.execPath}" "${bin}" run --mock-server --dataset datasets/example.jsonl --concurrency 13 --max-output-tokens 4 --no-progress --output-dir "${out}"`], { encoding: 'utf8', timeout: 60_000 })
  expect(r.stderr).toMatch(/13 concurrent streams need more sockets .*shared with the built-in mock.*6 connections are used.*ulimit -n/)
  expect(r.status).toBe(0)
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { transport: { connections: { opened: number } } }
  expect(run.transport.connections.opened).toBeLessThanOrEqual(6)
  expect(connectionCap()).toBeGreaterThan(12)
})
