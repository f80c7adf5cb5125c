/**
 * A server command line split into an argv without a shell: words separated by blanks, with '...' and
 * "..." quoting and backslash escapes. Shell operators (pipes, redirections, `;`, `&&`, `$(...)`,
 * backquotes) are refused: fluxperf runs one program, and a pipeline belongs in a script.
 */

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * Splits `command` into words.
 * @returns the words, or a string saying what is wrong
 */
export function splitCommand(command: string): string[] | string {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
      continue
    }
    if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1] as string)) word += command[++i]
      else word += c
      continue
    }
    if (c === "'" || c === '"') {
      quote = c
      inWord = true
      continue
    }
    if (c === '\\') {
      if (i + 1 < command.length) word += command[++i]
      inWord = true
      continue
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
      continue
    }
    if ('|&;<>`'.includes(c) || (c === '$' && command[i + 1] === '(') || c === '(' || c === ')') {
      return `"${c === '$' ? '$(' : c}" is a shell operator, and the server command runs without a shell; write one program with its arguments (put a pipeline or redirection in a script and run the script)`
    }
    word += c
    inWord = true
  }
  if (quote) return `unclosed ${quote} quote`
  if (inWord) words.push(word)
  if (words.length === 0) return 'the command is empty'
  return words
}

/**
 * The program to run: a first word `fluxperf` is this fluxperf (`<this Node> <its bin/fluxperf.mjs>`), and
 * `node` is the Node running fluxperf (which is new enough for it, whatever `node` is on PATH).
 */
export function resolveProgram(words: readonly string[]): string[] {
  const [first, ...rest] = words
  if (first === 'fluxperf') return [process.execPath, fluxperfBin(), ...rest]
  if (first === 'node') return [process.execPath, ...rest]
  return [...words]
}

/** bin/fluxperf.mjs of this package: from src/config in a checkout, from dist/src/config when installed. */
function fluxperfBin(): string {
  for (const relative of ['../../bin/fluxperf.mjs', '../../../bin/fluxperf.mjs']) {
    const path = fileURLToPath(new URL(relative, import.meta.url))
    if (existsSync(path)) return path
  }
  return 'fluxperf'
}
