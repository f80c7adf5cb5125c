import { readFile } from 'node:fs/promises'
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import type { Document } from 'yaml'
import { InputError } from '../errors.ts'
import { parseSlo } from './parse.ts'
import type { SloKeyPath } from './parse.ts'
import type { SloSpec } from './spec.ts'

/**
 * Reads an SLO YAML file: the Python tools' shape (`slo: { ttft_ms: 1000, itl_ms: 50, latency_ms: 10000 }`),
 * k6-style thresholds (`ttft: ["p(90) < 800"]`), or both, under a top-level `slo:` key or at the top
 * level (see {@link parseSlo}).
 * @throws InputError naming the file and line: for a missing or unreadable file, a YAML syntax error
 * (`slo.yaml:3: YAML syntax error: ...`), and every validation error, located at the offending key
 * (`slo.yaml:5: slo.ttfb: unknown SLO key "ttfb" (did you mean "ttft"?); ...`).
 */
export async function loadSloFile(path: string): Promise<SloSpec> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new InputError('SLO file not found', path)
    if (code === 'EISDIR') throw new InputError('is a directory; expected an SLO YAML file', path)
    throw new InputError(`SLO file cannot be read (${code ?? (error as Error).message})`, path)
  }
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true, prettyErrors: true })
  const error = doc.errors[0]
  if (error) {
    const pos = error.linePos?.[0]
    const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')
    throw new InputError(`YAML syntax error: ${message}`, pos ? `${path}:${pos.line}` : path)
  }
  if (doc.contents === null) throw new InputError('empty SLO file; expected a mapping such as "slo: { ttft_ms: 1000 }" or "ttft: [\'p(90) < 800\']"', path)
  const locate = (keyPath: SloKeyPath): string | undefined => {
    const offset = offsetOf(doc, keyPath)
    return offset === undefined ? undefined : `${path}:${lineCounter.linePos(offset).line}`
  }
  let value: unknown
  try {
    // yaml's own alias limit (maxAliasCount) stops a "billion laughs" file here.
    value = doc.toJS()
  } catch (error) {
    throw new InputError(`YAML cannot be expanded: ${(error as Error).message} (an alias bomb?)`, path)
  }
  return parseSlo(value, path, { locate })
}

/** Start offset of the deepest node found along `keyPath` (the key itself for mapping entries). */
function offsetOf(doc: Document, keyPath: SloKeyPath): number | undefined {
  let node: unknown = doc.contents
  let offset: number | undefined = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0]
  for (const segment of keyPath) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment))
      if (!pair) return offset
      offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset
      node = pair.value
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as { range?: [number, number, number] } | undefined
      offset = item?.range?.[0] ?? offset
      node = item
    } else {
      return offset
    }
  }
  return offset
}
