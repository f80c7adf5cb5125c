import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { baselineAction, readBaseline, writeBaseline } from '../../src/baseline/index.ts'
import { InputError } from '../../src/errors.ts'
import { dualRoundRun, recordedMetrics, roundResult } from '../report/fixtures.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-baseline-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function storedRun(): ReturnType<typeof dualRoundRun> {
  return dualRoundRun([roundResult({ ...recordedMetrics({ ttft: [100, 110, 120], latency: [400, 410, 420] }) })])
}

describe('what to do with the baseline file', () => {
  const present = join(dir, 'present.json')
  writeFileSync(present, '{}')
  const absent = join(dir, 'absent.json')

  test('a missing file is written locally, and is an error in CI (a gate never passes by creating its baseline)', () => {
    expect(baselineAction(absent, {})).toBe('write')
    expect(baselineAction(absent, { CI: 'true' })).toBe('missing-in-ci')
    expect(baselineAction(absent, { CI: '1' })).toBe('missing-in-ci')
  })

  test('CI set to false, 0 or nothing is not CI', () => {
    for (const CI of ['false', 'FALSE', '0', '']) expect(baselineAction(absent, { CI })).toBe('write')
  })

  test('a present file is compared with, unless FLUXPERF_UPDATE_BASELINE asks to rewrite it (in CI too)', () => {
    expect(baselineAction(present, {})).toBe('compare')
    expect(baselineAction(present, { CI: 'true' })).toBe('compare')
    expect(baselineAction(present, { FLUXPERF_UPDATE_BASELINE: '1' })).toBe('write')
    expect(baselineAction(absent, { FLUXPERF_UPDATE_BASELINE: 'true', CI: 'true' })).toBe('write')
    expect(baselineAction(present, { FLUXPERF_UPDATE_BASELINE: '0' })).toBe('compare')
  })
})

describe('writing and reading a baseline', () => {
  test('the whole RunResult round-trips, in directories created on the way, as indented JSON', () => {
    const path = join(dir, 'nested', 'deeper', 'run.json')
    const run = storedRun()
    writeBaseline(path, run)
    expect(existsSync(path)).toBe(true)
    const text = readFileSync(path, 'utf8')
    expect(text.startsWith('{\n  "schemaVersion": 2,\n')).toBe(true)
    expect(text.endsWith('}\n')).toBe(true)
    expect(readBaseline(path)).toEqual(run)
  })

  test('a baseline of fluxperf 0.1 (schema 1) is read as schema 2, its client health moved into `client`', () => {
    const { client: _client, ...current } = storedRun()
    const v1 = { ...current, schemaVersion: 1, clientSaturated: true, eventLoopDelayP99Ms: 3.5 }
    const path = join(dir, 'v1.json')
    writeFileSync(path, JSON.stringify(v1))
    const read = readBaseline(path)
    expect(read.schemaVersion).toBe(2)
    expect(read.client).toMatchObject({ eventLoopDelayP99Ms: 3.5, saturated: true, precision: { mode: 'off' } })
    expect(read).not.toHaveProperty('clientSaturated')
    expect(read.rounds).toEqual(current.rounds)
  })

  test('errors name the file: missing, not JSON, not a RunResult', () => {
    const missing = join(dir, 'missing.json')
    expect(() => readBaseline(missing)).toThrow(InputError)
    expect(() => readBaseline(missing)).toThrow(`${missing}: cannot read baseline (ENOENT`)
    const notJson = join(dir, 'not-json.json')
    writeFileSync(notJson, '{"schemaVersion": 2,')
    expect(() => readBaseline(notJson)).toThrow(new RegExp(`^${notJson}: cannot read baseline \\(`))
    for (const [name, doc] of [['object', {}], ['array', []], ['future', { ...storedRun(), schemaVersion: 3 }], ['no-rounds', { schemaVersion: 2 }]] as const) {
      const path = join(dir, `${name}.json`)
      writeFileSync(path, JSON.stringify(doc))
      expect(() => readBaseline(path)).toThrow(`${path}: not a fluxperf baseline`)
    }
  })
})
