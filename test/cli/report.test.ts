// `fluxperf report` and the report.html every workload command writes (the browser test draws them).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { runMain } from './inProcess.ts'

const tmp = mkdtempSync(join(tmpdir(), 'fluxperf-report-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const run = (dir: string, ...extra: string[]): string[] =>
  ['run', '--mock-server', '--dataset', 'fluxperf:example', '--concurrency', '2', '--num-samples', '3', '--max-output-tokens', '8', '--seed', '2', '--no-progress', '--output-dir', join(tmp, dir), ...extra]

/** The data a report embeds. */
function embedded(file: string): { runs: { name: string; timeline?: { requests: number } }[]; comparison?: { rows: unknown[] } } {
  const html = readFileSync(file, 'utf8')
  const json = /<script type="application\/json" id="fluxperf-data">([\s\S]*?)<\/script>/.exec(html)?.[1]
  expect(json).toBeDefined()
  return JSON.parse(json as string)
}

describe('report.html beside every run', () => {
  test('written by default, with the timeline when requests are saved; the stdout names it', async () => {
    const r = await runMain(run('a', '--save-requests'))
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`HTML report: ${join(tmp, 'a', 'report.html')}`)
    const data = embedded(join(tmp, 'a', 'report.html'))
    expect(data.runs.map((x) => x.name)).toEqual(['a'])
    expect(data.runs[0]!.timeline!.requests).toBeGreaterThan(0)
  })

  test('--no-report writes none', async () => {
    const r = await runMain(run('b', '--no-report'))
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(join(tmp, 'b', 'report.html'))).toBe(false)
    expect(r.stdout).not.toContain('HTML report')
  })
})

describe('fluxperf report', () => {
  test('two runs overlaid and compared into the file named by -o', async () => {
    const out = join(tmp, 'both.html')
    const r = await runMain(['report', join(tmp, 'a'), join(tmp, 'b', 'run.json'), '--compare', '-o', out])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`Wrote ${out}`)
    const data = embedded(out)
    expect(data.runs.map((x) => x.name)).toEqual(['a', 'b'])
    expect(data.comparison!.rows.length).toBeGreaterThan(0)
  })

  test.each([
    [['report', '/no/such/dir'], /\/no\/such\/dir: no such file or directory; expected a run directory or a run.json file/],
    [['report', 'README.md'], /README.md: cannot read baseline|not a fluxperf/],
    [['report', 'x', '--compare'], /--compare: compares two runs; got 1/],
    [['report', 'x', 'y', '--tolerance', '0.2'], /--tolerance: only applies with --compare/],
  ])('%j: exit 2, one line naming the problem', async (args, message) => {
    const r = await runMain(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  test('a directory without run.json is named', async () => {
    writeFileSync(join(tmp, 'note.txt'), 'x')
    const r = await runMain(['report', tmp])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no run.json in this directory')
  })
})
