/**
 * Runs a recipe: every stage in order, each with its own settings and variables (and its own server
 * when the recipe manages one), each stage's reports in `<output-dir>/<stage>/`, then the stages side by
 * side in `recipe_summary.csv`, `recipe.json` and a console table.
 */

import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { InputError, isInputError } from '../errors.ts'
import { redactSecrets, secretValues } from '../client/index.ts'
import { resolveDatasetPath } from '../data/index.ts'
import type { RunResult } from '../types.ts'
import { loadRecipe, resolveStage } from './recipe.ts'
import type { Env, ResolvedStage } from './recipe.ts'
import type { RunOptionTable } from './runOptions.ts'
import { ManagedServer, ServerStartError } from './server.ts'
import { formatRecipeSummary, recipeJson, recipeSummaryCsv } from './summary.ts'
import type { StageOutcome } from './summary.ts'

export interface RecipeRunOptions {
  /** The run command's option table. */
  table: RunOptionTable
  /** The run command's parsed flags: defaults, and what the user typed. */
  baseFlags: Record<string, unknown>
  /** True for the options the user typed on the command line (they override the recipe). */
  isCli: (attribute: string) => boolean
  /** Runs one stage with complete flags and returns its exit code (the command's executor). */
  execute: (flags: Record<string, unknown>) => Promise<number>
  /** The command's checks of a stage's complete flags, made for every stage before the first starts. */
  check?: (flags: Record<string, unknown>) => void
  /** @default process.env */
  env?: Env
  /** @default process.stdout */
  out?: NodeJS.WritableStream
}

/** Exit codes, worst first: interrupted, failed, SLO missed, ok. */
function worst(codes: readonly number[]): number {
  for (const code of [130, 2, 1, 99]) if (codes.includes(code)) return code
  return codes.find((c) => c !== 0) ?? 0
}

/**
 * Loads the recipe, resolves and checks every stage before anything runs (so a typo in the last stage
 * is reported at once), then runs the stages.
 * @returns the exit code: 130 interrupted, 1 a stage failed (its server did not start, or its run
 * failed), 99 an SLO was missed, 0 otherwise
 * @throws InputError for anything wrong in the recipe, naming `file:line` and the key
 */
export async function runRecipe(path: string, options: RecipeRunOptions): Promise<number> {
  const env = options.env ?? process.env
  const out = options.out ?? process.stdout
  const recipe = await loadRecipe(path, options.table)
  const baseOutputDir = (globalValue: string | undefined): string =>
    options.isCli('outputDir') || globalValue === undefined ? String(options.baseFlags['outputDir'] ?? 'results') : globalValue
  const stages = recipe.stages.map((stage) => resolveStage(recipe, stage, options.table, env, baseOutputDir, options.isCli))
  for (const stage of stages) precheck(path, stage, { ...options.baseFlags, ...stage.values }, options.table, options.check)
  const baseDir = (stages[0] as ResolvedStage).baseDir

  const stop = new AbortController()
  const onSignal = (name: NodeJS.Signals): void => {
    if (stop.signal.aborted) process.exit(130)
    out.write(`\nfluxperf: ${name}: no further stages; stopping the current one\n`)
    stop.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const startedAt = new Date()
  const outcomes: StageOutcome[] = []
  let shared: ManagedServer | undefined
  try {
    for (const [i, stage] of stages.entries()) {
      if (stop.signal.aborted) break
      const secrets = stageSecrets({ ...options.baseFlags, ...stage.values })
      if (!recipe.implicitStage) out.write(`\n${'#'.repeat(100)}\n# Stage ${i + 1}/${stages.length}: ${stage.name}${stage.description ? ` — ${stage.description}` : ''}${envText(stage.ownEnv, secrets)}\n${'#'.repeat(100)}\n`)
      const outcome: StageOutcome = { name: stage.name, outputDir: stage.outputDir, exitCode: 0, env: redact(stage.ownEnv, secrets) }
      if (stage.description) outcome.description = stage.description
      outcomes.push(outcome)
      let server: ManagedServer | undefined
      try {
        if (stage.server) {
          if (stage.server.restart === 'once') {
            if (!shared) {
              shared = new ManagedServer(stage.server, join(baseDir, 'server.log'))
              out.write(`Starting the server (once for all stages): ${redactSecrets(shared.commandLine, secrets)}\n`)
              await shared.start(stop.signal)
              out.write(`Server healthy at ${shared.spec.healthUrl}\n`)
            }
          } else {
            server = new ManagedServer(stage.server, join(stage.outputDir, 'server.log'))
            out.write(`Starting the server: ${redactSecrets(server.commandLine, secrets)}\n`)
            await server.start(stop.signal)
            out.write(`Server healthy at ${server.spec.healthUrl}\n`)
          }
        }
        const flags: Record<string, unknown> = { ...options.baseFlags, ...stage.values }
        delete flags['recipe']
        outcome.exitCode = await options.execute(flags)
      } catch (error) {
        if (isInputError(error)) throw error
        outcome.exitCode = stop.signal.aborted ? 130 : 1
        outcome.error = error instanceof ServerStartError ? `server: ${error.message}` : (error as Error).message
        out.write(`\nStage ${stage.name} FAILED: ${outcome.error}\n`)
        if (error instanceof ServerStartError && stage.server?.restart === 'once') {
          out.write('The shared server did not start; the remaining stages are skipped.\n')
          break
        }
      } finally {
        if (server) {
          out.write('Stopping the server\n')
          await server.stop()
        }
      }
      // Only a stage that ran wrote a fresh run.json (a failed start leaves an older one, if any, alone).
      const run = outcome.error === undefined ? readRun(stage.outputDir) : undefined
      if (run) outcome.run = run
      if (outcome.exitCode === 130) break
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (shared) {
      out.write('Stopping the server\n')
      await shared.stop()
    }
  }
  const last = outcomes.at(-1)
  if (stop.signal.aborted && last && last.exitCode === 0) last.exitCode = 130
  if (!recipe.implicitStage) {
    mkdirSync(baseDir, { recursive: true })
    writeFileSync(join(baseDir, 'recipe_summary.csv'), recipeSummaryCsv(outcomes))
    writeFileSync(join(baseDir, 'recipe.json'), recipeJson(path, startedAt, outcomes))
    out.write(`\n${formatRecipeSummary(path, outcomes)}\n`)
    out.write(`\nRecipe reports in ${baseDir}/ (recipe_summary.csv, recipe.json; each stage in ${baseDir}/<stage>/)\n`)
  }
  return worst(outcomes.map((o) => o.exitCode))
}

/** The checks the command would make first, made for every stage before the first one starts. */
function precheck(path: string, stage: ResolvedStage, flags: Record<string, unknown>, table: RunOptionTable, check?: (flags: Record<string, unknown>) => void): void {
  const where = `${path} (stage ${stage.name})`
  if (flags['mockServer'] && flags['endpoint']) throw new InputError('sets both endpoint and mock-server; give one', where)
  if (!flags['mockServer'] && !flags['endpoint'] && !flags['baseUrl']) throw new InputError('no endpoint: set endpoint (or mock-server: true) under global: or in the stage', where)
  // Whether a dataset is required is the command's own check (`run` requires one, `traffic` does not).
  if (table.lookup('dataset') && flags['dataset'] !== undefined) {
    const dataset = flags['dataset']
    if (typeof dataset !== 'string') throw new InputError('dataset: expected a file name', where)
    const file = resolveDatasetPath(dataset, where)
    if (!existsSync(file) || !statSync(file).isFile()) throw new InputError(`dataset "${dataset}" is not a file`, where)
  }
  if (stage.server && flags['mockServer']) throw new InputError('manages a server and sets mock-server: true; use one (the server, with endpoint pointing at it)', where)
  try {
    check?.(flags)
  } catch (error) {
    if (!isInputError(error)) throw error
    // The command's own check names its flag: said again with the stage it is in.
    const message = error.where ? error.message.slice(error.where.length + 2) : error.message
    throw new InputError(message, error.where ? `${where}: ${error.where}` : where)
  }
}

function readRun(dir: string): RunResult | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult
  } catch {
    return undefined
  }
}

const SECRET = /key|token|secret|passw/i

/** The secret values a stage's flags carry (see secretValues): a variable holding one is redacted. */
function stageSecrets(flags: Record<string, unknown>): string[] {
  const text = (key: string): string | undefined => (typeof flags[key] === 'string' ? (flags[key] as string) : undefined)
  return secretValues({
    apiKey: text('apiKey'),
    headers: (flags['header'] ?? {}) as Record<string, string>,
    secretHeaders: (flags['secretHeader'] ?? []) as string[],
    urls: ['endpoint', 'proxy', 'resetCacheUrl', 'prometheusUrl'].map(text),
  })
}

function redact(env: Record<string, string>, secrets: readonly string[]): Record<string, string> {
  const holdsSecret = (value: string): boolean => {
    const v = value.toLowerCase()
    return value.length >= 4 && secrets.some((s) => v.includes(s.toLowerCase()) || s.toLowerCase().includes(v))
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, SECRET.test(k) || holdsSecret(v) ? '[redacted]' : v]))
}

function envText(env: Record<string, string>, secrets: readonly string[]): string {
  const entries = Object.entries(redact(env, secrets))
  return entries.length === 0 ? '' : `\n# env: ${entries.map(([k, v]) => `${k}=${v}`).join(' ')}`
}
