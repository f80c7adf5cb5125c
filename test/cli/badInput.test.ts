import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { hasStackTrace, runCli } from '../helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-bad-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const bad = readdirSync(new URL('../../fixtures/bad/', import.meta.url)).filter((f) => f !== 'README.md')

/** A one-paragraph message: no stack, no blank line splitting it, names `name`. */
function expectCleanError(r: { code: number | null; stderr: string; stdout: string }, name: string): void {
  expect(r.code).toBe(2)
  expect(r.stderr).toContain(name)
  expect(hasStackTrace(r.stderr + r.stdout)).toBe(false)
  expect(r.stderr.trim().split(/\n\s*\n/)).toHaveLength(1)
}

describe('every file in fixtures/bad gives exit 2 and a one-paragraph message naming it', () => {
  test.each(bad.filter((f) => !f.endsWith('.yaml')))('dataset %s', async (file) => {
    const r = await runCli(['run', '--mock-server', '--dataset', `fixtures/bad/${file}`, '--output-dir', join(dir, 'out')])
    expectCleanError(r, file)
  })

  test.each(bad.filter((f) => f.endsWith('.yaml')))('SLO file %s', async (file) => {
    const r = await runCli(['run', '--mock-server', '--dataset', 'datasets/example.jsonl', '--slo-file', `fixtures/bad/${file}`, '--output-dir', join(dir, 'out')])
    expectCleanError(r, file)
  })

  test('a 10 MB line', async () => {
    const path = join(dir, 'huge-line.jsonl')
    writeFileSync(path, `{"text": "ok"}\n{"text": "${'x'.repeat(10 * 1024 * 1024 + 10)}"}\n`)
    const r = await runCli(['run', '--mock-server', '--dataset', path, '--output-dir', join(dir, 'out')])
    expectCleanError(r, 'huge-line.jsonl:2')
  })

  test('a missing dataset', async () => {
    const r = await runCli(['run', '--mock-server', '--dataset', 'nope/missing.jsonl', '--output-dir', join(dir, 'out')])
    expectCleanError(r, 'nope/missing.jsonl')
  })
})
