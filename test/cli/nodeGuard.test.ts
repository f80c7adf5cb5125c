// On a Node older than package.json engines.node, every entry point prints one line and exits 2.
// Needs an old node on the machine (these machines ship Node 20 at /usr/bin/node); skipped otherwise.
import { spawnSync } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { checkNodeVersion } from '../../src/nodeVersion.ts'
import { hasStackTrace } from '../helpers/cli.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The first node on PATH (or /usr/bin/node) older than the minimum, with its version. */
function findOldNode(): { path: string; version: string } | undefined {
  const which = spawnSync('which', ['-a', 'node'], { encoding: 'utf8' })
  const candidates = [...(which.stdout ?? '').split('\n'), '/usr/bin/node'].map((p) => p.trim()).filter(Boolean)
  const seen = new Set<string>()
  for (const path of candidates) {
    let real: string
    try {
      real = realpathSync(path)
    } catch {
      continue
    }
    if (seen.has(real)) continue
    seen.add(real)
    const r = spawnSync(real, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 10_000 })
    const version = r.stdout?.trim()
    if (r.status === 0 && version && checkNodeVersion(version) !== undefined) return { path: real, version }
  }
  return undefined
}

const old = findOldNode()
const skipReason = 'no Node.js older than 22.19 found (which -a node, /usr/bin/node)'

function expectOneLine(r: ReturnType<typeof spawnSync>, version: string): void {
  const stderr = String(r.stderr)
  expect(r.status).toBe(2)
  expect(stderr.endsWith('\n')).toBe(true)
  expect(stderr.trimEnd().split('\n')).toHaveLength(1)
  expect(stderr).toContain('22.19')
  expect(stderr).toContain(`v${version}`)
  expect(stderr).not.toContain('    at ')
  expect(hasStackTrace(stderr + String(r.stdout))).toBe(false)
}

describe.skipIf(!old)(`on an old Node (${old ? `${old.path} v${old.version}` : skipReason})`, () => {
  const { path: node, version } = old ?? { path: '', version: '' }

  test.each([['--version'], ['--help'], ['run', '--mock-server', '--dataset', 'examples/example_dataset.json']])('fluxperf %s: exit 2, one line on stderr, no stack trace', (...args) => {
    const r = spawnSync(node, ['bin/fluxperf.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 30_000 })
    expectOneLine(r, version)
    expect(r.stdout).toBe('')
  })

  test('the bin run through its shebang with that node first on PATH', () => {
    const path = `${node.slice(0, node.lastIndexOf('/'))}:${process.env['PATH'] ?? ''}`
    const r = spawnSync(`${root}bin/fluxperf.mjs`, ['--version'], { cwd: root, encoding: 'utf8', timeout: 30_000, env: { ...process.env, PATH: path } })
    expectOneLine(r, version)
  })

  test('vitest with the fluxperf() plugin in its config: exit 2, one line, before any test runs', () => {
    const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url))
    const project = fileURLToPath(new URL('../../fixtures/vitest-project/', import.meta.url))
    const r = spawnSync(node, [vitest, 'bench', '--run'], { cwd: project, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CI: '1' } })
    expectOneLine(r, version)
  })
})
