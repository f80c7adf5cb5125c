/**
 * What every command's --help shows besides its flags: the default of each flag that has one, and an
 * "Exit codes:" block at the end (README: Exit codes).
 *
 * Flags whose default is applied by the code when the flag is absent (`flags.x ?? default`, or a default
 * that depends on other flags) keep no commander default, since the code tells "not given" by
 * `undefined`; `showDefaults` writes their default into the description instead, as commander would.
 */
import type { Command } from 'commander'
import { EXIT } from './exitCodes.ts'

/**
 * Appends `(default: <text>)` to the description of each flag named (its long name, e.g. `--concurrency`).
 * @throws Error when the command has no such flag, or when it already shows a default
 */
export function showDefaults(command: Command, defaults: Record<string, string>): Command {
  for (const [flag, text] of Object.entries(defaults)) {
    const option = command.options.find((o) => o.long === flag)
    if (!option) throw new Error(`showDefaults: ${command.name()} has no ${flag}`)
    if (option.defaultValue !== undefined || /\bdefault\b/.test(option.description)) throw new Error(`showDefaults: ${command.name()} ${flag} already shows its default`)
    option.description = `${option.description} (default: ${text})`
  }
  return command
}

/** Adds the "Exit codes:" block after the command's help. Rows are (code, meaning). */
export function showExitCodes(command: Command, rows: readonly (readonly [number, string])[]): Command {
  const width = Math.max(...rows.map(([code]) => String(code).length)) + 2
  const lines = rows.map(([code, meaning]) => `  ${String(code).padEnd(width)}${meaning.replaceAll('\n', `\n  ${' '.repeat(width)}`)}`)
  return command.addHelpText('after', `\nExit codes:\n${lines.join('\n')}\n`)
}

export const USAGE = [EXIT.usage, 'usage, configuration or input error (the message names the flag or file)'] as const

/** Exit codes of `run`, `multi-turn` and `multi-round-qa`; `coldRounds` when the command has a cold round. */
export function workloadExitCodes(coldRounds: boolean): [number, string][] {
  return [
    [EXIT.ok, 'PASSED: every request succeeded (or the failed share is within\n--max-error-rate), and every SLO check met'],
    [EXIT.failed, `FAILED: failed requests beyond --max-error-rate${coldRounds ? ', a cold round not\ncold or not verified' : ''}, or an error of fluxperf itself`],
    [...USAGE],
    [EXIT.sloMissed, 'SLO MISSED: a check of --slo-file missed'],
    [EXIT.interrupted, 'INTERRUPTED: Ctrl-C or SIGTERM; reports for what completed are written'],
  ]
}

/** Defaults of the flags every workload command has that carry no commander default (see the module comment). */
export const COMMON_DEFAULTS: Record<string, string> = {
  '--ca-file': 'the system\'s certificate authorities',
  '--temperature': 'the server\'s',
  '--top-p': 'the server\'s',
  '--reset-cache-url': 'the mock\'s /reset_prefix_cache with --mock-server, else none',
  '--shard': 'the whole run',
  '--shards': 'the whole run',
  '--start-at': 'at once, once prepared',
  '--start-in': 'at once, once prepared',
}

/** The defaults and exit codes of a workload command's --help: the common flags' and `defaults`, the command's own. */
export function workloadHelp(command: Command, coldRounds: boolean, defaults: Record<string, string>): Command {
  showDefaults(command, { ...COMMON_DEFAULTS, ...defaults })
  return showExitCodes(command, workloadExitCodes(coldRounds))
}

/** Exit codes of `fluxperf mock`. */
export const MOCK_EXIT_CODES: [number, string][] = [
  [EXIT.ok, 'stopped: Ctrl-C, SIGTERM or SIGHUP, or its parent process exited'],
  [EXIT.failed, 'an error of fluxperf itself'],
  [EXIT.usage, 'a bad flag, or the port is in use or not allowed'],
]

/** Exit codes of `fluxperf data sharegpt` and `data longbench`. */
export const CONVERT_EXIT_CODES: [number, string][] = [
  [EXIT.ok, 'the output file was written'],
  [EXIT.failed, 'the conversion failed (e.g. a download that kept failing)'],
  [...USAGE],
]

/** Exit codes of `fluxperf data validate`. */
export const VALIDATE_EXIT_CODES: [number, string][] = [
  [EXIT.ok, 'every row is valid (the row count is printed)'],
  [EXIT.usage, 'malformed rows (each with its line and reason), or an unreadable file'],
]

/** Exit codes of `fluxperf prometheus check`. */
export const PROMETHEUS_CHECK_EXIT_CODES: [number, string][] = [
  [EXIT.ok, 'readable (and every --metrics name exposed)'],
  [EXIT.failed, 'not readable, or a --metrics name is missing'],
  [...USAGE],
]

/** Exit codes of the command groups `data` and `prometheus`. */
export const GROUP_EXIT_CODES: [number, string][] = [
  [EXIT.ok, 'success'],
  [EXIT.failed, 'failure (see each command\'s --help)'],
  [...USAGE],
]

/** Exit codes of `fluxperf` itself: the union of its commands'. */
export const GENERAL_EXIT_CODES: [number, string][] = [
  [EXIT.ok, 'success (a workload command: PASSED)'],
  [EXIT.failed, 'failure (a workload command: FAILED); see each command\'s --help'],
  [...USAGE],
  [EXIT.sloMissed, 'a workload command: an SLO check missed'],
  [EXIT.interrupted, 'a workload command: interrupted; reports for what completed are written'],
]
