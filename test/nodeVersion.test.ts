import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { checkNodeVersion, compareVersions, MIN_NODE } from '../src/nodeVersion.ts'

describe('checkNodeVersion', () => {
  test('the minimum is package.json engines.node', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    expect(pkg.engines.node).toBe(`>=${MIN_NODE}`)
    expect(MIN_NODE).toBe('22.19')
  })

  test.each(['20.20.2', '22.18.0', 'v22.18.0', '22.9.0', '18.20.8'])('%s is too old: one line naming 22.19 and the version', (version) => {
    const message = checkNodeVersion(version)
    expect(message).toBeDefined()
    expect(message).toContain('Node.js >= 22.19')
    expect(message).toContain(`this is Node.js v${version.replace(/^v/, '')}.`)
    expect(message).not.toContain('\n')
  })

  test.each(['22.19.0', '22.20.1', '23.0.0', '24.0.0', 'v24.21.0', '26.0.0-nightly20260101abcdef'])('%s passes', (version) => {
    expect(checkNodeVersion(version)).toBeUndefined()
  })

  test('the running Node (24 from the node devDependency) passes', () => {
    expect(checkNodeVersion()).toBeUndefined()
  })

  test('versions compare numerically, part by part', () => {
    expect(compareVersions('22.9', '22.19')).toBe(-1)
    expect(compareVersions('22.19.0', '22.19')).toBe(0)
    expect(compareVersions('100.0.0', '22.19')).toBe(1)
  })
})
