/**
 * `fluxperf <command> --recipe FILE`: the glue between a workload command and src/config. The recipe's keys
 * are the command's own options; what the user typed on the command line overrides the recipe.
 */

import type { Command } from 'commander'
import { RunOptionTable, runRecipe } from '../config/index.ts'

/** How a command runs one stage and checks a stage's flags before any stage starts. */
export interface RecipeStageRunner {
  /** Runs one stage with complete flags; returns its exit code. */
  execute(flags: Record<string, unknown>): Promise<number>
  /** The command's own checks of a stage's flags (an InputError names what is wrong). */
  check(flags: Record<string, unknown>): void
}

/** Runs every stage of the recipe at `path` with the command's executor; returns the worst exit code. */
export async function runRecipeFile(path: string, flags: Record<string, unknown>, command: Command, runner: RecipeStageRunner): Promise<number> {
  return runRecipe(path, {
    table: new RunOptionTable(command.options),
    baseFlags: { ...flags },
    isCli: (attribute) => attribute !== 'recipe' && command.getOptionValueSource(attribute) === 'cli',
    execute: runner.execute,
    check: runner.check,
  })
}
