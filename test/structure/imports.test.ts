import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

/**
 * The folders show the data flow (dataset → workload definition → schedule → client → records → RunResult →
 * reports / verdict / matchers): a layer imports only layers below it, and no module imports itself back
 * through others. Design note: docs/design/engine.md.
 */
const src = fileURLToPath(new URL('../../src', import.meta.url))

/** Layers, lowest first; a module may import its own layer's modules and lower layers only. */
const LAYERS: string[][] = [
  ['types.ts', 'errors.ts', 'lazyRequire.ts', 'random.ts', 'printable.ts', 'version.ts', 'didYouMean.ts', 'nodeVersion.ts', 'tokens'],
  ['data', 'client', 'mock', 'schedule'],
  ['engines', 'metrics', 'slo'],
  ['workloads', 'baseline', 'merge'],
  ['report', 'capacity'],
  ['config'],
  ['cli', 'vitest', 'index.ts'],
]

function layerOf(file: string): number {
  const top = relative(src, file).split('/')[0] as string
  const layer = LAYERS.findIndex((names) => names.includes(top))
  if (layer === -1) throw new Error(`${relative(src, file)}: in no layer of test/structure/imports.test.ts`)
  return layer
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
}

/** Every relative import (type-only ones included) of a module, resolved to files. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g)].map((m) => resolve(dirname(file), (m[1] ?? m[2]) as string))
}

const files = sources(src)
const graph = new Map(files.map((f) => [f, importsOf(f)]))

test('no module imports one of a layer above it', () => {
  const upward = files.flatMap((f) => (graph.get(f) ?? []).filter((to) => layerOf(to) > layerOf(f)).map((to) => `${relative(src, f)} → ${relative(src, to)}`))
  expect(upward).toEqual([])
})

test('no import cycles', () => {
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const path: string[] = []
  const visit = (f: string): void => {
    state.set(f, 'open')
    path.push(f)
    for (const to of graph.get(f) ?? []) {
      if (state.get(to) === 'open') cycles.push([...path.slice(path.indexOf(to)), to].map((p) => relative(src, p)).join(' → '))
      else if (!state.has(to)) visit(to)
    }
    path.pop()
    state.set(f, 'done')
  }
  for (const f of files) if (!state.has(f)) visit(f)
  expect(cycles).toEqual([])
})

test('the check sees imports: the CLI imports the workloads, the workloads the client', () => {
  const edges = [...graph.entries()].flatMap(([f, tos]) => tos.map((to) => `${relative(src, f).split('/')[0]}→${relative(src, to).split('/')[0]}`))
  expect(edges).toContain('cli→workloads')
  expect(edges).toContain('workloads→client')
})
