/**
 * `fluxperf sweep` against a real server stack of known capacity: test/servers/capacity_app.py, uvicorn +
 * FastAPI streaming at most K answers at once, each of N tokens one every G ms, so it serves at most
 * K / (N × G) requests per second. The capacity the sweep finds must be within 10 % of that.
 * `.ci/run` installs uvicorn and FastAPI from Debian (python3-uvicorn, python3-fastapi); without them this
 * test is skipped, and says so.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, test } from 'vitest'
import type { CapacityResult } from '../../src/types.ts'
import { runCli } from '../helpers/cli.ts'
import { runs, startServerProcess } from '../helpers/serverProcess.ts'

const servers = fileURLToPath(new URL('../servers/', import.meta.url))
const python = '/usr/bin/python3'
const hasUvicorn = runs(python, ['-c', 'import uvicorn, fastapi'])
if (!hasUvicorn) console.warn('SKIPPED: the real-server capacity sweep needs Debian\'s python3-uvicorn and python3-fastapi (.ci/run installs them)')

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** K streams at once, N tokens each, G ms apart: capacity K / (N × G / 1000) = 3 / 0.1 s = 30 requests/s. */
const SLOTS = 3
const TOKENS = 10
const TOKEN_MS = 10
const CAPACITY = SLOTS / ((TOKENS * TOKEN_MS) / 1000)

const ENDED = new Set(['rule', 'saturated', 'max-duration', 'interrupted'])

describe.skipIf(!hasUvicorn)(`sweep against uvicorn + FastAPI of known capacity${hasUvicorn ? '' : ' (SKIPPED: not installed)'}`, () => {
  test(`finds K / (N × G) = ${CAPACITY} requests/s within 10 %`, async () => {
    const server = await startServerProcess(python, [join(servers, 'capacity_app.py'), '--slots', String(SLOTS), '--token-ms', String(TOKEN_MS)])
    cleanups.push(() => server.close())
    const dir = mkdtempSync(join(tmpdir(), 'fluxperf-capacity-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    // The knee: below capacity, evenly paced requests find a free slot and their first token comes one gap
    // (G ms) after they are sent; above it the queue, and TTFT, grow for as long as the step lasts. Four gaps
    // leave room for a loaded machine's jitter and are passed within a few dozen requests over capacity.
    const slo = join(dir, 'slo.yaml')
    writeFileSync(slo, `ttft:\n  - "p(90) < ${4 * TOKEN_MS}"\n`)
    const out = join(dir, 'out')
    const started = Date.now()
    const result = await runCli([
      'sweep', '--base-url', server.origin, '--slo-file', slo,
      '--max-output-tokens', String(TOKENS), '--input-tokens', '32', '--seed', '1', '--arrival', 'constant',
      // Steps of 2–5 s and ≥ 40 requests: at 5 % over capacity the queue adds about 1.7 ms per request, so
      // p(90) is past the limit after ~25 requests, and a step that lasts 2 s sees it.
      '--min-requests', '40', '--min-step-duration', '2', '--max-step-duration', '5',
      '--no-progress', '--no-report', '--output-dir', out,
    ], { timeoutMs: 110_000 })
    const seconds = (Date.now() - started) / 1000
    const why = `exit ${result.code} after ${seconds.toFixed(1)} s\n${result.stdout}\n${result.stderr}`
    expect(result.code, why).toBe(0)

    const capacity = JSON.parse(readFileSync(join(out, 'capacity.json'), 'utf8')) as CapacityResult
    expect(capacity.stopReason, why).toBe('bracketed')
    expect(capacity.capacity, why).not.toBeNull()
    const found = capacity.capacity as number
    expect(Math.abs(found / CAPACITY - 1), `found ${found} requests/s, expected ${CAPACITY} ± 10 %\n${why}`).toBeLessThanOrEqual(0.1)
    expect(capacity.failedAt, why).toBeGreaterThan(found)

    for (const step of capacity.steps) expect(ENDED.has(step.ended), `step ${step.step} ended ${JSON.stringify(step.ended)}`).toBe(true)
    expect(capacity.steps.some((s) => s.ended === 'interrupted'), why).toBe(false)
    const measured = capacity.steps.filter((s) => s.phase !== 'probe')
    // Above capacity some step failed; well below it every step passed (the knee is sharp, not smeared).
    expect(measured.some((s) => !s.pass && s.load > CAPACITY), why).toBe(true)
    expect(measured.filter((s) => s.load <= 0.8 * CAPACITY).every((s) => s.pass), why).toBe(true)
    expect(measured.some((s) => s.clientSaturated), why).toBe(false)
    console.log(`capacity sweep against uvicorn: found ${found} requests/s (K's rate ${CAPACITY}; failed at ${capacity.failedAt}) in ${seconds.toFixed(1)} s, ${capacity.steps.length} steps`)
  }, 120_000)
})
