import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InputError } from '../../src/errors.ts'
import { loadSloFile } from '../../src/slo/index.ts'

const bad = (name: string): string => fileURLToPath(new URL(`../../fixtures/bad/${name}`, import.meta.url))

async function loadError(path: string): Promise<InputError> {
  try {
    await loadSloFile(path)
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return error as InputError
  }
  throw new Error(`${path} loaded without error`)
}

describe('loadSloFile: bad files name the file, the line and the key', () => {
  it('an unknown metric', async () => {
    const path = bad('slo-unknown-metric.yaml')
    expect((await loadError(path)).message).toMatch(new RegExp(`^${escape(path)}:4: slo\\.ttfb: unknown SLO key "ttfb" \\(did you mean "ttft"\\?\\); accepted keys: `))
  })

  it('a bad percentile, located at the list item', async () => {
    const path = bad('slo-bad-percentile.yaml')
    expect((await loadError(path)).message).toBe(`${path}:6: slo.latency[1]: bad percentile "p(101)" in "p(101) < 8000": N must be a number with 0 < N <= 100, e.g. p(95) or p(99.9)`)
  })

  it('a YAML syntax error', async () => {
    const path = bad('slo-syntax-error.yaml')
    const error = await loadError(path)
    expect(error.message).toMatch(new RegExp(`^${escape(path)}:4: YAML syntax error: All mapping items must start at the same column`))
    expect(error.message).not.toContain('\n')
  })

  it('a missing file', async () => {
    expect((await loadError(bad('nope.yaml'))).message).toBe(`${bad('nope.yaml')}: SLO file not found`)
  })
})

describe('loadSloFile', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxperf-slo-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  const write = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name)
    await writeFile(path, text)
    return path
  }

  it('reads the seed YAML shape', async () => {
    const path = await write('seed.yaml', 'slo:\n  ttft_ms: 1000        # every request\n  itl_ms: 50\n  latency_ms: 10000\n')
    const spec = await loadSloFile(path)
    expect(spec).toEqual({ perRequest: { ttftMs: 1000, tpotMs: 50, latencyMs: 10000 }, terms: [], source: { ttft_ms: 1000, itl_ms: 50, latency_ms: 10000 }, where: path })
  })

  it('reads thresholds at the top level, mixed with seed keys', async () => {
    const path = await write('k6.yaml', 'ttft_ms: 2000\nttft:\n  - p(90) < 800\n  - "avg < 300"\nerror_rate: rate < 0.01\ngoodput: ["rate > 0.9"]\n')
    const spec = await loadSloFile(path)
    expect(spec.perRequest).toEqual({ ttftMs: 2000 })
    expect(spec.terms.map((t) => `${t.metric} ${t.expression}`)).toEqual(['ttft p(90) < 800', 'ttft avg < 300', 'errorRate rate < 0.01', 'goodput rate > 0.9'])
  })

  it.each([
    ['a wrong value type, at its key', 'slo:\n  ttft_ms: 1000\n\n  latency_ms: fast\n', /:4: slo\.latency_ms: expected a positive number of milliseconds, got "fast"$/],
    ['a malformed flow-list item', 'ttft: ["p(90) < 800", "p(90) <"]\n', /:1: ttft\[1\]: expected a number after "<", found nothing/],
    ['a key given twice across slo: and the top level', 'slo:\n  ttft_ms: 1\nttft_ms: 2\n', /:3: ttft_ms: "ttft_ms" is given twice \(also as slo\.ttft_ms\)/],
    ['a duplicate YAML key', 'ttft_ms: 1\nttft_ms: 2\n', /:2: YAML syntax error: Map keys must be unique/],
    ['slo: that is not a mapping', 'slo:\n  - ttft_ms\n', /:1: slo: expected a mapping of SLO terms/],
    ['a top-level list', '- a\n- b\n', /\.yaml: expected a mapping of SLO terms .* got a list/],
    ['no terms', 'slo: {}\n', /\.yaml: the SLO has no terms/],
  ])('%s', async (_, text, expected) => {
    const path = await write('case.yaml', text)
    const error = await loadError(path)
    expect(error.message.startsWith(path)).toBe(true)
    expect(error.message).toMatch(expected)
  })

  it('an empty file', async () => {
    const path = await write('empty.yaml', '# nothing here\n')
    expect((await loadError(path)).message).toMatch(/: empty SLO file; expected a mapping/)
  })
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
