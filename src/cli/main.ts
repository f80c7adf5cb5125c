import { Command, CommanderError } from 'commander'
import { isInputError } from '../errors.ts'
import { removeEmptyCreatedDirs } from '../report/index.ts'
import { VERSION } from '../version.ts'
import { compareCommand } from './compare.ts'
import { dataCommand } from './data.ts'
import { mergeCommand } from './merge.ts'
import { mockCommand } from './mock.ts'
import { prometheusCommand } from './prometheus.ts'
import { reportCommand } from './report.ts'
import { multiRoundQaCommand } from './multiRoundQa.ts'
import { multiTurnCommand } from './multiTurn.ts'
import { runCommand } from './run.ts'
import { sweepCommand } from './sweep.ts'
import { trafficCommand } from './traffic.ts'
import { EXIT } from './exitCodes.ts'
import { GENERAL_EXIT_CODES, showExitCodes } from './help.ts'

/** Builds the `fluxperf` program: one sub-command per file in src/cli/. */
export function buildProgram(): Command {
  const program = new Command('fluxperf')
    .description('Load-test OpenAI-compatible LLM endpoints and turn the results into assertions')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  program.addCommand(runCommand())
  program.addCommand(mockCommand())
  program.addCommand(dataCommand())
  program.addCommand(prometheusCommand())
  program.addCommand(multiTurnCommand())
  program.addCommand(multiRoundQaCommand())
  program.addCommand(trafficCommand())
  program.addCommand(sweepCommand())
  program.addCommand(reportCommand())
  program.addCommand(compareCommand())
  program.addCommand(mergeCommand())
  for (const command of program.commands) command.exitOverride().showHelpAfterError('(run with --help for usage)')
  return showExitCodes(program, GENERAL_EXIT_CODES)
}

/**
 * Runs the CLI and returns the exit code: 0 success, 99 an SLO missed, 2 usage/configuration/input
 * error (a one-paragraph message, no stack), 1 the run failed, 130 interrupted.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; commander already printed its own message for usage errors.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage
    }
    if (isInputError(error)) {
      process.stderr.write(`fluxperf: ${error.message}\n`)
      // Refused input writes no report: the output directory it created (and left empty) goes too.
      removeEmptyCreatedDirs()
      return EXIT.usage
    }
    process.stderr.write(`fluxperf: the run failed: ${(error as Error)?.message ?? String(error)}\n`)
    if (process.env['FLUXPERF_DEBUG']) process.stderr.write(`${(error as Error)?.stack}\n`)
    return EXIT.failed
  }
}
