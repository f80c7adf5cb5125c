// Which seed documents multi-turn uses when none are named: `./seed-documents` of the current directory
// (the Python tool's default folder) when there is one, else the shipped set; a line says which.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'
import { describeSeedDocumentSet, loadSeedDocumentSet, MULTI_TURN, shippedSeedDocumentsDir } from '../../src/workloads/multiTurn.ts'
import type { MultiTurnOptions } from '../../src/workloads/multiTurn.ts'
import type { CliResult } from '../helpers/cli.ts'

const bin = fileURLToPath(new URL('../../bin/fluxperf.mjs', import.meta.url))
const tmp = mkdtempSync(join(tmpdir(), 'fluxperf-seed-docs-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A directory holding `./seed-documents` with two documents of its own. */
function projectWithSeedDocuments(name: string): string {
  const dir = join(tmp, name)
  mkdirSync(join(dir, 'seed-documents'), { recursive: true })
  writeFileSync(join(dir, 'seed-documents', 'alpha.py'), 'def add(a, b):\n    return a + b\n')
  writeFileSync(join(dir, 'seed-documents', 'beta.md'), '# Notes\n\nThe cache keeps blocks of 16 tokens.\n')
  return dir
}

/** `fluxperf multi-turn` against the built-in mock, run from `cwd`. */
function multiTurnIn(cwd: string, extra: string[] = []): Promise<CliResult> {
  const args = ['multi-turn', '--mock-server', '-c', '2', '-t', '1', '-m', '8', '-p', '1', '--min-delay', '0', '--max-delay', '0', '--seed', '1', '--no-progress', '--output-dir', join(cwd, 'out'), ...extra]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

describe('fluxperf multi-turn: the seed documents used without --seed-documents', () => {
  test('./seed-documents of the current directory, when there is one, and stdout says so', async () => {
    const cwd = projectWithSeedDocuments('local')
    const r = await multiTurnIn(cwd)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('seed documents: ./seed-documents (2 files)\n')
    const conversations = readFileSync(join(cwd, 'out', 'requests.csv'), 'utf8')
    expect(conversations).toContain('c1:alpha.py')
    expect(conversations).toContain('c2:beta.md')
    expect(JSON.parse(readFileSync(join(cwd, 'out', 'run.json'), 'utf8')).config.documents).toBe(join(cwd, 'seed-documents'))
  })

  test('the shipped set otherwise, with how to use one\'s own', async () => {
    const cwd = join(tmp, 'empty')
    mkdirSync(cwd)
    const r = await multiTurnIn(cwd)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('seed documents: the shipped set (datasets/seed-documents in fluxperf, 8 files); put yours in ./seed-documents or pass --seed-documents\n')
  })

  test('--seed-documents wins over ./seed-documents', async () => {
    const cwd = projectWithSeedDocuments('given')
    const r = await multiTurnIn(cwd, ['--seed-documents', shippedSeedDocumentsDir()])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`seed documents: ${shippedSeedDocumentsDir()} (8 files)\n`)
    expect(readFileSync(join(cwd, 'out', 'requests.csv'), 'utf8')).not.toContain('alpha.py')
  })
})

describe('the library: loadSeedDocumentSet and the multiTurn workload', () => {
  test('prefers ./seed-documents of the directory given as the current one, else the shipped set', () => {
    const local = loadSeedDocumentSet(undefined, undefined, projectWithSeedDocuments('library'))
    expect(local.source).toBe('local')
    expect(local.documents.map((d) => d.name)).toEqual(['alpha.py', 'beta.md'])
    expect(describeSeedDocumentSet(local)).toBe('seed documents: ./seed-documents (2 files)')
    const shipped = loadSeedDocumentSet(undefined, undefined, join(tmp, 'nowhere'))
    expect(shipped.source).toBe('shipped')
    expect(shipped.dir).toBe(shippedSeedDocumentsDir())
  })

  test('a ./seed-documents that is a file, not a directory, is not a set', () => {
    const cwd = join(tmp, 'file')
    mkdirSync(cwd)
    writeFileSync(join(cwd, 'seed-documents'), 'not a directory')
    expect(loadSeedDocumentSet(undefined, undefined, cwd).source).toBe('shipped')
  })

  test('without `documents`, the workload chooses the set and a notice says which; with them, no notice', async () => {
    const notices: string[] = []
    const options = { endpoint: 'http://127.0.0.1:9/v1/chat/completions', conversations: 1 }
    const prepared = await MULTI_TURN.prepare(options, 1, (m) => notices.push(m))
    // The tests run from the repository root, which has no ./seed-documents.
    expect(notices).toEqual(['seed documents: the shipped set (datasets/seed-documents in fluxperf, 8 files); put yours in ./seed-documents or pass --seed-documents'])
    expect((prepared.settings as MultiTurnOptions).documents).toBe(shippedSeedDocumentsDir())
    notices.length = 0
    const given = await MULTI_TURN.prepare({ ...options, documents: shippedSeedDocumentsDir() }, 1, (m) => notices.push(m))
    expect(notices).toEqual([])
    expect((given.settings as MultiTurnOptions).documents).toBe(shippedSeedDocumentsDir())
  })
})
