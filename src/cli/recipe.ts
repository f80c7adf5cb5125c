/**
 * `fluxperf run --recipe FILE`: the glue between the run command and src/config. The recipe's keys are
 * the run command's own options; what the user typed on the command line overrides the recipe.
 */

import type { Command } from 'commander'
import { RunOptionTable, runRecipe } from '../config/index.ts'
import { executeRun } from './run.ts'
import type { RunFlags } from './run.ts'

/** Runs every stage of the recipe at `path` with `executeRun`; returns the worst exit code. */
export async function runRecipeFile(path: string, flags: RunFlags, command: Command): Promise<number> {
  return runRecipe(path, {
    table: new RunOptionTable(command.options),
    baseFlags: { ...flags },
    isCli: (attribute) => attribute !== 'recipe' && command.getOptionValueSource(attribute) === 'cli',
    execute: (stageFlags) => executeRun(stageFlags as unknown as RunFlags),
  })
}
