/**
 * Recipes: a YAML file of `run` settings (`global:`), optional server management (`server:`) and
 * `stages:` run in order, with `${VAR}` / `${VAR:-default}` substitution from the environment.
 *
 * ```yaml
 * env: { PORT: "8765" }                       # recipe-wide variables (optional)
 * global:                                     # any `fluxperf run` flag, kebab-case or camelCase
 *   endpoint: http://127.0.0.1:${PORT:-8765}/v1/chat/completions
 *   dataset: datasets/example.jsonl
 *   concurrency: [2, 4]
 * server:                                     # optional: fluxperf starts and stops it
 *   command: fluxperf mock --port ${PORT:-8765} --itl-ms ${ITL_MS:-3}
 *   health_url: http://127.0.0.1:${PORT:-8765}/health
 *   restart: per-stage                        # or once
 *   startup_timeout: 300                      # seconds
 * stages:
 *   - name: fast
 *     env: { ITL_MS: "1" }
 *   - name: slow
 *     env: { ITL_MS: "8" }
 *     num-samples: 4                          # a stage overrides global
 * ```
 *
 * Variables of a stage: the process environment, overlaid by the recipe's `env:`, overlaid by the stage's
 * `env:`. `${...}` is substituted in every value of `global:`, `server:` and the stage with them (the
 * `env:` values themselves with the environment before them). Every error names `file:line` and the key.
 */

import { isAbsolute, join } from 'node:path'
import { InputError } from '../errors.ts'
import { splitCommand } from './argv.ts'
import { hasReference, substitute } from './env.ts'
import { normaliseKey, optionValue, unknownKey } from './runOptions.ts'
import type { RunOptionTable } from './runOptions.ts'
import { closest, describeNode, readYamlFile } from './yamlTree.ts'
import type { YamlEntry, YamlFile, YamlNode } from './yamlTree.ts'

export type Env = Readonly<Record<string, string | undefined>>

export interface StageNode {
  name: string
  line: number
  env: YamlEntry[]
  options: YamlEntry[]
  description?: string
}

export interface Recipe {
  path: string
  name?: string
  description?: string
  env: YamlEntry[]
  global: YamlEntry[]
  server?: { entries: YamlEntry[]; line: number }
  stages: StageNode[]
  /** No `stages:` in the file: one stage made of `global:`, written straight into the output directory. */
  implicitStage: boolean
}

/** A server as a stage starts it. */
export interface ServerSpec {
  /** The command's words after substitution (the program not yet resolved, see resolveProgram). */
  argv: string[]
  healthUrl: string
  restart: 'per-stage' | 'once'
  startupTimeoutS: number
  stopTimeoutS: number
  cwd?: string
  /** The environment the server runs with. */
  env: Record<string, string>
}

const TOP_KEYS = ['name', 'description', 'env', 'global', 'server', 'stages']
const STAGE_KEYS = ['name', 'description', 'env']
const SERVER_KEYS = ['command', 'health_url', 'restart', 'startup_timeout', 'stop_timeout', 'cwd']
const STAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/

/**
 * Reads a recipe and checks its structure: known keys everywhere (run options are checked against
 * `table`), stage names, `env:` mappings. Values are converted later, per stage ({@link resolveStage}),
 * because they depend on the stage's variables.
 */
export async function loadRecipe(path: string, table: RunOptionTable): Promise<Recipe> {
  return recipeFrom(await readYamlFile(path, 'recipe file'), table)
}

/** {@link loadRecipe} on an already parsed file. */
export function recipeFrom(file: YamlFile, table: RunOptionTable): Recipe {
  const { path, root } = file
  const at = (line: number): string => `${path}:${line}`
  if (root.kind !== 'map') throw new InputError(`expected a mapping with global:, stages: and optionally server: and env:, got ${describeNode(root)}`, at(root.line))
  const recipe: Recipe = { path, env: [], global: [], stages: [], implicitStage: false }
  let stagesNode: YamlNode | undefined
  for (const entry of root.entries) {
    const key = normaliseKey(entry.key)
    if (key === 'name' || key === 'description') {
      recipe[key] = plainString(entry.value, path, entry.key)
    } else if (key === 'env') {
      recipe.env = envEntries(entry.value, path, 'env')
    } else if (key === 'global') {
      recipe.global = optionEntries(entry.value, path, 'global', table, [])
    } else if (key === 'server') {
      if (entry.value.kind !== 'map') throw new InputError(`server: expected a mapping with command:, health_url:, restart:, startup_timeout:, got ${describeNode(entry.value)}`, at(entry.value.line))
      for (const e of entry.value.entries) {
        if (!SERVER_KEYS.some((k) => normaliseKey(k) === normaliseKey(e.key))) {
          throw unknownKey(e, path, `server.${e.key}`, closest(e.key, SERVER_KEYS), `server takes ${SERVER_KEYS.join(', ')}`)
        }
      }
      if (!entry.value.entries.some((e) => normaliseKey(e.key) === 'command')) throw new InputError('server: command is required (the program that serves the endpoint)', at(entry.keyLine))
      if (!entry.value.entries.some((e) => normaliseKey(e.key) === 'healthurl')) throw new InputError('server: health_url is required (fluxperf waits until it answers 200)', at(entry.keyLine))
      recipe.server = { entries: entry.value.entries, line: entry.keyLine }
    } else if (key === 'stages') {
      stagesNode = entry.value
    } else if (table.lookup(entry.key)) {
      throw new InputError(`${entry.key}: run options go under global: (or a stage), not at the top level`, at(entry.keyLine))
    } else {
      throw unknownKey(entry, path, entry.key, closest(entry.key, TOP_KEYS), `a recipe takes ${TOP_KEYS.join(', ')}`)
    }
  }
  if (stagesNode === undefined) {
    recipe.implicitStage = true
    recipe.stages = [{ name: 'default', line: root.line, env: [], options: [] }]
    return recipe
  }
  if (stagesNode.kind !== 'seq' || stagesNode.items.length === 0) throw new InputError(`stages: expected a non-empty list of stages (each with a name), got ${describeNode(stagesNode)}`, at(stagesNode.line))
  const names = new Map<string, number>()
  for (const [i, item] of stagesNode.items.entries()) {
    const where = `stages[${i}]`
    if (item.kind !== 'map') throw new InputError(`${where}: expected a mapping with name: and run settings, got ${describeNode(item)}`, at(item.line))
    const stage: StageNode = { name: '', line: item.line, env: [], options: [] }
    const optionEntriesOfStage: YamlEntry[] = []
    for (const entry of item.entries) {
      const key = normaliseKey(entry.key)
      if (key === 'name') {
        stage.name = plainString(entry.value, path, `${where}.name`)
        if (!STAGE_NAME.test(stage.name)) throw new InputError(`${where}.name: "${stage.name}" cannot name a directory; use letters, digits, ".", "_" and "-"`, at(entry.value.line))
        const previous = names.get(stage.name)
        if (previous !== undefined) throw new InputError(`${where}.name: "${stage.name}" is already the name of the stage on line ${previous}; stage names must be unique`, at(entry.value.line))
        names.set(stage.name, entry.value.line)
      } else if (key === 'description') {
        stage.description = plainString(entry.value, path, `${where}.description`)
      } else if (key === 'env') {
        stage.env = envEntries(entry.value, path, `${where}.env`)
      } else {
        optionEntriesOfStage.push(entry)
      }
    }
    if (!stage.name) throw new InputError(`${where}: name is required (it names the stage's output directory)`, at(item.line))
    stage.options = optionEntries({ kind: 'map', entries: optionEntriesOfStage, line: item.line }, path, `stages[${i}]`, table, STAGE_KEYS)
    recipe.stages.push(stage)
  }
  return recipe
}

function plainString(node: YamlNode, path: string, keyPath: string): string {
  if (node.kind !== 'scalar' || typeof node.value !== 'string') throw new InputError(`${keyPath}: expected a string, got ${describeNode(node)}`, `${path}:${node.line}`)
  return node.value
}

function envEntries(node: YamlNode, path: string, keyPath: string): YamlEntry[] {
  if (node.kind !== 'map') throw new InputError(`${keyPath}: expected a mapping of variable names to values, got ${describeNode(node)}`, `${path}:${node.line}`)
  for (const e of node.entries) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(e.key)) throw new InputError(`${keyPath}.${e.key}: not a variable name; use letters, digits and _`, `${path}:${e.keyLine}`)
    if (e.value.kind !== 'scalar' || e.value.value === null) throw new InputError(`${keyPath}.${e.key}: expected a string, number or boolean, got ${describeNode(e.value)}`, `${path}:${e.value.line}`)
  }
  return node.entries
}

function optionEntries(node: YamlNode, path: string, keyPath: string, table: RunOptionTable, extra: string[]): YamlEntry[] {
  if (node.kind !== 'map') throw new InputError(`${keyPath}: expected a mapping of run settings, got ${describeNode(node)}`, `${path}:${node.line}`)
  const seen = new Map<string, number>()
  for (const entry of node.entries) {
    const found = table.lookup(entry.key)
    if (!found) {
      const accepted = `${extra.length > 0 ? `a stage takes ${extra.join(', ')} and` : 'global takes'} any option of fluxperf run, kebab-case or camelCase (fluxperf run --help lists them)`
      throw unknownKey(entry, path, `${keyPath}.${entry.key}`, table.suggest(entry.key, extra), accepted)
    }
    const previous = seen.get(found.spec.attribute)
    if (previous !== undefined) throw new InputError(`${keyPath}.${entry.key}: ${found.spec.flag} is already set on line ${previous}`, `${path}:${entry.keyLine}`)
    seen.set(found.spec.attribute, entry.keyLine)
  }
  return node.entries
}

/** The variables of the recipe (process env overlaid by the recipe's `env:`). */
export function recipeEnv(recipe: Recipe, processEnv: Env): Record<string, string | undefined> {
  return overlay(processEnv, recipe.env, recipe.path, 'env')
}

/** The variables of a stage (the recipe's, overlaid by the stage's `env:`), and the stage's own `env:` values. */
export function stageEnv(recipe: Recipe, stage: StageNode, processEnv: Env): { vars: Record<string, string | undefined>; own: Record<string, string> } {
  const base = recipeEnv(recipe, processEnv)
  const vars = overlay(base, stage.env, recipe.path, recipe.implicitStage ? 'env' : `stages[${recipe.stages.indexOf(stage)}].env`)
  const own: Record<string, string> = {}
  for (const e of [...recipe.env, ...stage.env]) own[e.key] = vars[e.key] as string
  return { vars, own }
}

function overlay(base: Env, entries: readonly YamlEntry[], path: string, keyPath: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...base }
  for (const e of entries) {
    const v = e.value.kind === 'scalar' ? e.value.value : null
    out[e.key] = typeof v === 'string' ? substitute(v, base, `${path}:${e.value.line}`, `${keyPath}.${e.key}`) : String(v)
  }
  return out
}

/** A stage's `run` options and output directory, resolved. */
export interface ResolvedStage {
  name: string
  description?: string
  /** Option values by commander attribute (only those the recipe sets). */
  values: Record<string, unknown>
  /** Where the stage's reports go. */
  outputDir: string
  /** The recipe's output directory (`<base>`), for its summary files. */
  baseDir: string
  /** The stage's variables (process env + recipe env + stage env). */
  vars: Record<string, string | undefined>
  /** The variables the recipe and the stage set themselves (for the server's environment and the report). */
  ownEnv: Record<string, string>
  /** The server as this stage starts it, when the recipe manages one. */
  server?: ServerSpec
}

/**
 * Converts a stage's settings: `global:` then the stage's own (the stage wins), every value substituted
 * with the stage's variables and checked by its flag's parser. Options the user typed on the command line
 * (`isCli`) are left out: the command line wins. The output directory is the stage's own `output-dir`,
 * else `<base>/<stage name>` (`<base>` itself for a recipe without stages).
 */
export function resolveStage(recipe: Recipe, stage: StageNode, table: RunOptionTable, processEnv: Env, baseOutputDir: (globalValue: string | undefined) => string, isCli: (attribute: string) => boolean): ResolvedStage {
  const { vars, own } = stageEnv(recipe, stage, processEnv)
  const index = recipe.stages.indexOf(stage)
  const values: Record<string, unknown> = {}
  const convert = (entries: readonly YamlEntry[], keyPath: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {}
    for (const entry of entries) {
      const found = table.lookup(entry.key)
      if (!found) continue
      out[found.spec.attribute] = optionValue(entry, found, vars, recipe.path, `${keyPath}.${entry.key}`)
    }
    return out
  }
  const global = convert(recipe.global, 'global')
  const own_ = recipe.implicitStage ? {} : convert(stage.options, `stages[${index}]`)
  for (const [k, v] of Object.entries({ ...global, ...own_ })) if (!isCli(k)) values[k] = v
  const base = baseOutputDir(typeof global['outputDir'] === 'string' ? global['outputDir'] : undefined)
  const stageDir = typeof own_['outputDir'] === 'string' && !isCli('outputDir') ? own_['outputDir'] : undefined
  const outputDir = recipe.implicitStage ? base : (stageDir ?? join(base, stage.name))
  values['outputDir'] = outputDir
  const resolved: ResolvedStage = { name: stage.name, values, outputDir, baseDir: base, vars, ownEnv: own }
  if (stage.description !== undefined) resolved.description = stage.description
  if (recipe.server) resolved.server = resolveServer(recipe, vars, own, processEnv)
  return resolved
}

/**
 * The server spec with a stage's variables. With `restart: once` the server is started before the first
 * stage with the recipe's variables only (no stage `env:`), since it serves every stage.
 */
function resolveServer(recipe: Recipe, stageVars: Env, stageOwn: Record<string, string>, processEnv: Env): ServerSpec {
  const server = recipe.server as NonNullable<Recipe['server']>
  const get = (key: string): YamlEntry | undefined => server.entries.find((e) => normaliseKey(e.key) === normaliseKey(key))
  const restartEntry = get('restart')
  let restart: ServerSpec['restart'] = 'per-stage'
  if (restartEntry) {
    const v = restartEntry.value.kind === 'scalar' ? restartEntry.value.value : undefined
    if (v !== 'per-stage' && v !== 'once') throw new InputError(`server.restart: expected per-stage or once, got ${describeNode(restartEntry.value)}`, `${recipe.path}:${restartEntry.value.line}`)
    restart = v
  }
  const vars = restart === 'once' ? recipeEnv(recipe, processEnv) : stageVars
  const ownEnv = restart === 'once' ? Object.fromEntries(recipe.env.map((e) => [e.key, vars[e.key] as string])) : stageOwn
  const text = (entry: YamlEntry, keyPath: string): string => {
    const n = entry.value
    if (n.kind !== 'scalar' || typeof n.value !== 'string' || n.value.trim() === '') throw new InputError(`${keyPath}: expected a string, got ${describeNode(n)}`, `${recipe.path}:${n.line}`)
    return substitute(n.value, vars, `${recipe.path}:${n.line}`, keyPath)
  }
  const seconds = (key: string, fallback: number): number => {
    const entry = get(key)
    if (!entry) return fallback
    const n = entry.value
    let value: number | undefined
    if (n.kind === 'scalar' && typeof n.value === 'number') value = n.value
    else if (n.kind === 'scalar' && typeof n.value === 'string' && hasReference(n.value)) value = Number(substitute(n.value, vars, `${recipe.path}:${n.line}`, `server.${key}`))
    if (value === undefined || !Number.isFinite(value) || value <= 0) throw new InputError(`server.${key}: expected a number of seconds > 0, got ${describeNode(n)}`, `${recipe.path}:${n.line}`)
    return value
  }
  const commandEntry = get('command') as YamlEntry
  let argv: string[]
  if (commandEntry.value.kind === 'seq') {
    argv = commandEntry.value.items.map((item, i) => {
      if (item.kind !== 'scalar' || item.value === null || typeof item.value === 'boolean') throw new InputError(`server.command[${i}]: expected a string, got ${describeNode(item)}`, `${recipe.path}:${item.line}`)
      return typeof item.value === 'string' ? substitute(item.value, vars, `${recipe.path}:${item.line}`, `server.command[${i}]`) : String(item.value)
    })
    if (argv.length === 0) throw new InputError('server.command: the list is empty', `${recipe.path}:${commandEntry.value.line}`)
  } else {
    const n = commandEntry.value
    if (n.kind !== 'scalar' || typeof n.value !== 'string') throw new InputError(`server.command: expected a command line (a string) or a list of arguments, got ${describeNode(n)}`, `${recipe.path}:${n.line}`)
    const words = splitCommand(n.value)
    if (typeof words === 'string') throw new InputError(`server.command: ${words}`, `${recipe.path}:${n.line}`)
    argv = words.map((w) => substitute(w, vars, `${recipe.path}:${n.line}`, 'server.command'))
  }
  const healthUrl = text(get('health_url') as YamlEntry, 'server.health_url')
  let parsed: URL | undefined
  try {
    parsed = new URL(healthUrl)
  } catch {
    parsed = undefined
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new InputError(`server.health_url: "${healthUrl}" is not an http(s) URL`, `${recipe.path}:${(get('health_url') as YamlEntry).value.line}`)
  }
  const spec: ServerSpec = {
    argv,
    healthUrl,
    restart,
    startupTimeoutS: seconds('startup_timeout', 300),
    stopTimeoutS: seconds('stop_timeout', 15),
    env: { ...definedOnly(processEnv), ...ownEnv },
  }
  const cwd = get('cwd')
  if (cwd) {
    const dir = text(cwd, 'server.cwd')
    spec.cwd = isAbsolute(dir) ? dir : join(process.cwd(), dir)
  }
  return spec
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}
