/**
 * Recipe keys ↔ the options of `fluxperf run`. The table is built from the command's own commander
 * options, so every run flag is a recipe key (and a new flag becomes one without touching this file),
 * and values go through the flag's own parser (the same checks and messages as on the command line).
 */

import { InvalidArgumentError } from 'commander'
import type { Option } from 'commander'
import { InputError, isInputError } from '../errors.ts'
import { hasReference, substitute } from './env.ts'
import { closest, describeNode } from './yamlTree.ts'
import type { YamlEntry, YamlNode } from './yamlTree.ts'

/** One run option as a recipe sees it. */
export interface OptionSpec {
  /** commander's attribute name, e.g. `numSamples`, `stream` (for `--no-stream`). */
  attribute: string
  /** What the user types, e.g. `--num-samples`, `--no-stream`. */
  flag: string
  /** The canonical recipe key, e.g. `num-samples`, `stream`. */
  key: string
  kind: 'boolean' | 'value' | 'list'
  /** `--no-x`: the recipe key `x: false` (or `no-x: true`). */
  negate: boolean
  parse?: (value: string, previous: unknown) => unknown
}

/** Keys of `run` that make no sense in a recipe. */
const EXCLUDED = new Set(['recipe', 'help', 'version'])

/** Recipe keys are matched without case, `-` or `_`: `num-samples`, `num_samples` and `numSamples` are one key. */
export function normaliseKey(key: string): string {
  return key.replace(/[-_]/g, '').toLowerCase()
}

/** The option table of a command (pass `runCommand().options`). */
export class RunOptionTable {
  readonly specs: OptionSpec[]
  readonly #byKey = new Map<string, { spec: OptionSpec; negated: boolean }>()

  constructor(options: readonly Option[]) {
    this.specs = []
    for (const o of options) {
      if (!o.long) continue
      const attribute = o.attributeName()
      if (EXCLUDED.has(attribute)) continue
      const positive = o.negate ? o.long.replace(/^--no-/, '') : o.long.replace(/^--/, '')
      const spec: OptionSpec = {
        attribute,
        flag: o.long,
        key: positive,
        kind: o.required || o.optional ? (o.variadic ? 'list' : 'value') : 'boolean',
        negate: o.negate,
        parse: o.parseArg as OptionSpec['parse'],
      }
      this.specs.push(spec)
      this.#byKey.set(normaliseKey(positive), { spec, negated: false })
      this.#byKey.set(normaliseKey(attribute), { spec, negated: false })
      if (o.negate) this.#byKey.set(normaliseKey(o.long.replace(/^--/, '')), { spec, negated: true })
    }
  }

  /** The spec a recipe key names, if any (`negated` for a `no-x` key). */
  lookup(key: string): { spec: OptionSpec; negated: boolean } | undefined {
    return this.#byKey.get(normaliseKey(key))
  }

  /** The run option keys, for messages. */
  keys(): string[] {
    return this.specs.map((s) => s.key)
  }

  /** "did you mean" for an unknown key. */
  suggest(key: string, extra: readonly string[] = []): string | undefined {
    return closest(key.replace(/_/g, '-'), [...this.keys(), ...extra])
  }
}

/**
 * Converts one recipe entry to the option's value, substituting `${VAR}` from `env` first.
 * A string that held a `${...}` reference is read as the option needs it ("8" → 8, "true" → true,
 * "2 4" → [2, 4]); a literal of the wrong YAML type is an error.
 * @throws InputError at `file:line` naming the key path
 */
export function optionValue(entry: YamlEntry, found: { spec: OptionSpec; negated: boolean }, env: Readonly<Record<string, string | undefined>>, file: string, keyPath: string): unknown {
  const { spec, negated } = found
  const node = entry.value
  const where = `${file}:${node.line}`
  const wrong = (expected: string, n: YamlNode = node): InputError => new InputError(`${keyPath}: expected ${expected}, got ${describeNode(n)}`, `${file}:${n.line}`)
  const text = (n: YamlNode): { text: string; substituted: boolean } | undefined => {
    if (n.kind !== 'scalar' || n.value === null) return undefined
    if (typeof n.value !== 'string') return { text: String(n.value), substituted: false }
    return { text: substitute(n.value, env, `${file}:${n.line}`, keyPath), substituted: hasReference(n.value) }
  }
  const parsed = (raw: string, previous: unknown, n: YamlNode): unknown => {
    if (!spec.parse) return raw
    try {
      return spec.parse(raw, previous)
    } catch (error) {
      // A parser's complaint, located in the recipe (an InputError names the flag; here the key and line).
      if (error instanceof InvalidArgumentError || isInputError(error)) throw new InputError(`${keyPath}: ${error.message.replace(/^(error|--[a-z-]+): /, '')}`, `${file}:${n.line}`)
      throw error
    }
  }

  if (spec.kind === 'boolean') {
    const t = text(node)
    if (!t) throw wrong('true or false')
    let value: boolean
    if (node.kind === 'scalar' && typeof node.value === 'boolean') value = node.value
    else if (t.substituted && /^(true|false)$/i.test(t.text.trim())) value = t.text.trim().toLowerCase() === 'true'
    else throw wrong('true or false')
    return negated ? !value : value
  }

  if (spec.kind === 'list') {
    const items: { raw: string; node: YamlNode }[] = []
    const nodes = node.kind === 'seq' ? node.items : [node]
    if (node.kind === 'seq' && node.items.length === 0) throw wrong('a non-empty list')
    for (const n of nodes) {
      const t = text(n)
      if (!t || (n.kind === 'scalar' && typeof n.value === 'boolean')) throw wrong(`a list of values for ${spec.flag}`, n)
      const parts = t.substituted ? t.text.split(/[\s,]+/).filter((p) => p !== '') : [t.text]
      for (const raw of parts) items.push({ raw, node: n })
    }
    if (items.length === 0) throw wrong(`a value for ${spec.flag}`)
    let acc: unknown
    for (const item of items) acc = spec.parse ? parsed(item.raw, acc, item.node) : [...((acc as string[] | undefined) ?? []), item.raw]
    return acc
  }

  // a single value; a repeatable flag (--header, --secret-header) also takes a list, and --header a mapping
  if (node.kind === 'map') {
    if (spec.attribute !== 'header') throw wrong(`a single value for ${spec.flag}`)
    let acc: unknown
    for (const e of node.entries) {
      const t = text(e.value)
      if (!t) throw wrong('a header value', e.value)
      acc = parsed(`${e.key}: ${t.text}`, acc, e.value)
    }
    return acc
  }
  if (node.kind === 'seq') {
    if (!REPEATABLE.has(spec.attribute)) throw wrong(`a single value for ${spec.flag}`)
    let acc: unknown
    for (const n of node.items) {
      const t = text(n)
      if (!t) throw wrong(`'Name: value'`, n)
      acc = parsed(t.text, acc, n)
    }
    return acc
  }
  const t = text(node)
  if (!t) throw new InputError(`${keyPath}: has no value; expected a value for ${spec.flag}`, where)
  if (typeof node.value === 'boolean') throw wrong(`a value for ${spec.flag}`)
  return parsed(t.text, undefined, node)
}

/** Flags given once per value on the command line (their parser accumulates): a recipe may list them. */
const REPEATABLE = new Set(['header', 'secretHeader'])

/** An unknown-key error with a suggestion. */
export function unknownKey(entry: YamlEntry, file: string, keyPath: string, suggestion: string | undefined, accepted: string): InputError {
  const hint = suggestion ? ` (did you mean "${suggestion}"?)` : ''
  return new InputError(`${keyPath}: unknown key "${entry.key}"${hint}; ${accepted}`, `${file}:${entry.keyLine}`)
}
