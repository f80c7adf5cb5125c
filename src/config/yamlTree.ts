/**
 * A YAML file as a small tree of plain values that remember their line, so that every later error
 * (an unknown key, a wrong type, an unset variable) can name `file:line`. Parsing uses the `yaml`
 * package, as SLO files do (src/slo/file.ts); YAML is data only: no custom tags, nothing is evaluated.
 */

import { readFile } from 'node:fs/promises'
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml'
import type { Document } from 'yaml'
import { InputError } from '../errors.ts'

export type YamlNode =
  | { kind: 'scalar'; value: string | number | boolean | null; line: number }
  | { kind: 'map'; entries: YamlEntry[]; line: number }
  | { kind: 'seq'; items: YamlNode[]; line: number }

export interface YamlEntry {
  key: string
  keyLine: number
  value: YamlNode
}

/** A parsed YAML file: its path (for messages) and its top node. */
export interface YamlFile {
  path: string
  root: YamlNode
}

/**
 * Reads and parses a YAML file.
 * @throws InputError naming the file (missing, unreadable, empty) or `file:line` (syntax errors, keys
 * that are not plain strings, custom tags).
 */
export async function readYamlFile(path: string, what: string): Promise<YamlFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new InputError(`${what} not found`, path)
    if (code === 'EISDIR') throw new InputError(`is a directory; expected a ${what} (YAML)`, path)
    throw new InputError(`${what} cannot be read (${code ?? (error as Error).message})`, path)
  }
  return parseYamlText(text, path, what)
}

/** Parses YAML text (see {@link readYamlFile}). */
export function parseYamlText(text: string, path: string, what: string): YamlFile {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true })
  const error = doc.errors[0]
  if (error) {
    const pos = error.linePos?.[0]
    const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')
    throw new InputError(`YAML syntax error: ${message}`, pos ? `${path}:${pos.line}` : path)
  }
  if (doc.contents === null) throw new InputError(`empty ${what}; expected a YAML mapping`, path)
  const lineOf = (node: unknown): number => {
    const offset = (node as { range?: [number, number, number] } | null)?.range?.[0]
    return offset === undefined ? 1 : lineCounter.linePos(offset).line
  }
  return { path, root: convert(doc, doc.contents, lineOf, path, 0, { left: MAX_YAML_VALUES }) }
}

/**
 * Most values a recipe may expand to, aliases resolved: aliases are expanded here, not by the yaml
 * library, so its own limit never applies, and a "billion laughs" file (each alias a list of the previous
 * one ten times) would grow to gigabytes. A real recipe has a few hundred.
 */
export const MAX_YAML_VALUES = 100_000

function convert(doc: Document, node: unknown, lineOf: (n: unknown) => number, path: string, depth: number, budget: { left: number }): YamlNode {
  const line = lineOf(node)
  if (depth > 50) throw new InputError('YAML nested too deeply (or an alias refers to itself)', `${path}:${line}`)
  if (--budget.left < 0) throw new InputError(`the YAML expands to more than ${MAX_YAML_VALUES} values once its aliases are resolved (an alias bomb?)`, `${path}:${line}`)
  if (isAlias(node)) {
    const target = node.resolve(doc)
    if (!target) throw new InputError(`unknown alias *${node.source}`, `${path}:${line}`)
    const resolved = convert(doc, target, lineOf, path, depth + 1, budget)
    return { ...resolved, line }
  }
  if (isMap(node)) {
    const entries: YamlEntry[] = []
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key
      const keyLine = lineOf(pair.key)
      if (typeof key !== 'string' && typeof key !== 'number') throw new InputError('keys must be plain names', `${path}:${keyLine}`)
      if (key === '<<') throw new InputError('merge keys (<<) are not supported; repeat the settings, or use an alias for a whole value', `${path}:${keyLine}`)
      const value: YamlNode = pair.value === null || pair.value === undefined
        ? { kind: 'scalar', value: null, line: keyLine }
        : convert(doc, pair.value, lineOf, path, depth + 1, budget)
      entries.push({ key: String(key), keyLine, value })
    }
    return { kind: 'map', entries, line }
  }
  if (isSeq(node)) return { kind: 'seq', items: node.items.map((item) => convert(doc, item, lineOf, path, depth + 1, budget)), line }
  if (isScalar(node)) {
    const v = node.value
    if (v === null || v === undefined) return { kind: 'scalar', value: null, line }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { kind: 'scalar', value: v, line }
    throw new InputError(`unsupported YAML value (${typeof v}${node.tag ? `, tag ${node.tag}` : ''}); use strings, numbers, booleans, lists and mappings`, `${path}:${line}`)
  }
  throw new InputError('unsupported YAML node', `${path}:${line}`)
}

/** `a string`, `a list`, `a mapping`, ... for messages. */
export function describeNode(node: YamlNode): string {
  if (node.kind === 'map') return 'a mapping'
  if (node.kind === 'seq') return 'a list'
  const v = node.value
  if (v === null) return 'nothing (empty value)'
  if (typeof v === 'string') return v === '' ? 'an empty string' : `the string "${v.length > 40 ? `${v.slice(0, 37)}...` : v}"`
  return typeof v === 'number' ? `the number ${v}` : `${v}`
}

/** Closest candidate for "did you mean" (shared with every other unknown-key message). */
export { closest } from '../didYouMean.ts'
