/**
 * The V8 flags precision mode sets at run time, each with the flag that undoes it. Pure functions of
 * Node's arguments, so what is set and restored can be tested; V8's flags cannot be read back.
 */

/** A V8 flag to set, and the one that restores V8's default afterwards. */
export interface FlagChange {
  set: string
  restore: string
}

/**
 * Calls before V8 optimises a function with TurboFan during precision mode. At V8's default, functions
 * called once per loop iteration or per request did not reach it in the warm-up and compiled during the
 * measured run, taking the pinned core 2–5 ms. Why: docs/design/precision.md.
 */
export const TURBOFAN_AFTER_CALLS = 600

/** V8's own default for `--invocation-count-for-turbofan` (Node 22–24; `node --v8-options` shows it). */
export const V8_TURBOFAN_AFTER_CALLS = 3000

/**
 * The TurboFan threshold precision mode sets, and the flag that puts V8's default back; undefined when
 * Node's arguments or NODE_OPTIONS chose a threshold (then it is left as the process has it).
 */
export function turbofanThresholdFlags(execArgv: readonly string[], nodeOptions = ''): FlagChange | undefined {
  if (chosen(execArgv, nodeOptions, /^--invocation[-_]count[-_]for[-_]turbofan\b/)) return undefined
  return { set: `--invocation-count-for-turbofan=${TURBOFAN_AFTER_CALLS}`, restore: `--invocation-count-for-turbofan=${V8_TURBOFAN_AFTER_CALLS}` }
}

/**
 * `--expose-gc`, set for the moment it takes to fetch V8's gc function in a context of its own, then
 * unset (V8's default), so no context or worker made later gets a `gc` global; undefined when the process
 * was started with `--expose-gc` (or `--no-expose-gc`, its own choice).
 */
export function exposeGcFlags(execArgv: readonly string[], nodeOptions = ''): FlagChange | undefined {
  if (chosen(execArgv, nodeOptions, /^--(no[-_])?expose[-_]gc\b/)) return undefined
  return { set: '--expose-gc', restore: '--no-expose-gc' }
}

function chosen(execArgv: readonly string[], nodeOptions: string, flag: RegExp): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => flag.test(arg))
}
