import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadDataset, loadSeedDocuments, resolveDatasetPath, shippedDatasetNames, shippedDatasetsDir } from '../../src/data/index.ts'
import { sourceFiles } from '../../src/data/convert/files.ts'
import { InputError } from '../../src/errors.ts'

describe('shipped datasets by name (fluxperf:<name>)', () => {
  it('names the package\'s datasets folder, whatever the working directory', () => {
    expect(shippedDatasetNames()).toEqual(expect.arrayContaining(['example', 'sharegpt-sample', 'longbench-sample', 'seed-documents']))
    expect(resolveDatasetPath('fluxperf:example')).toBe(join(shippedDatasetsDir(), 'example.jsonl'))
    expect(resolveDatasetPath('fluxperf:sharegpt-sample')).toBe(join(shippedDatasetsDir(), 'sharegpt-sample.json'))
    expect(resolveDatasetPath('fluxperf:seed-documents')).toBe(join(shippedDatasetsDir(), 'seed-documents'))
  })

  it('leaves ordinary paths alone', () => {
    expect(resolveDatasetPath('datasets/example.jsonl')).toBe('datasets/example.jsonl')
    expect(resolveDatasetPath('/abs/fluxperf:example')).toBe('/abs/fluxperf:example')
  })

  it('loads fluxperf:example as the file it names', async () => {
    const byName = await loadDataset('fluxperf:example')
    const byPath = await loadDataset(join(shippedDatasetsDir(), 'example.jsonl'))
    expect(byName.length).toBe(13)
    expect(byName).toEqual(byPath)
  })

  it('reads fluxperf:seed-documents as the shipped folder', () => {
    const byName = loadSeedDocuments('fluxperf:seed-documents')
    expect(byName.length).toBeGreaterThan(3)
    expect(byName).toEqual(loadSeedDocuments(join(shippedDatasetsDir(), 'seed-documents')))
  })

  it('the converters take a shipped name, and keep it as the rows\' source (the same on every machine)', () => {
    expect(sourceFiles('fluxperf:sharegpt-sample', 'data sharegpt')).toEqual(['fluxperf:sharegpt-sample'])
    expect(() => sourceFiles('fluxperf:nope', '--input')).toThrow(/--input: no dataset named "nope"/)
  })

  it('refuses an unknown name, suggesting the nearest and listing the shipped ones', () => {
    expect(() => resolveDatasetPath('fluxperf:exampel', '--dataset')).toThrow(InputError)
    expect(() => resolveDatasetPath('fluxperf:exampel', '--dataset')).toThrow(/--dataset: no dataset named "exampel" ships with fluxperf \(did you mean "fluxperf:example"\?\); shipped: fluxperf:example, /)
    expect(() => resolveDatasetPath('fluxperf:formats')).toThrow(/no dataset named "formats"/)
  })
})
