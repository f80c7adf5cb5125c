// Every command's --help shows the default of each flag that has one and ends with an "Exit codes:" block
// (README: Exit codes), without giving flags commander defaults that would change what the code sees.
import type { Command } from 'commander'
import { describe, expect, test } from 'vitest'
import { buildProgram } from '../../src/cli/main.ts'
import { runCli } from '../helpers/cli.ts'

/** Every command of the program, the program itself first, with its path (`['data', 'validate']`). */
function commands(command: Command = buildProgram(), path: string[] = []): [string[], Command][] {
  return [[path, command], ...command.commands.filter((c) => c.name() !== 'help').flatMap((c) => commands(c, [...path, c.name()]))]
}

/** What `fluxperf <path> --help` prints (the help and the text added after it). */
function helpOf(path: string[]): string {
  const found = commands().find(([p]) => p.join(' ') === path.join(' '))
  if (!found) throw new Error(`no command ${path.join(' ')}`)
  let text = ''
  found[1].configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) })
  found[1].outputHelp()
  return text
}

/** The help lines of one flag, joined (commander wraps descriptions). */
function flagHelp(help: string, flag: string): string {
  const lines = help.split('\n')
  const start = lines.findIndex((l) => new RegExp(`^ {2}(-\\w, )?${flag}\\b`).test(l))
  if (start === -1) throw new Error(`${flag} not in help`)
  const rest = lines.slice(start + 1)
  const end = rest.findIndex((l) => /^ {2}-/.test(l) || l.trim() === '')
  return [lines[start] as string, ...rest.slice(0, end)].map((l) => l.trim()).join(' ')
}

/** Flags that take a value and have no default: what they name is the user's (or required). */
const NO_DEFAULT = new Set([
  '--endpoint', '--dataset', '--max-input-length', '--max-context-tokens', '--header', '--secret-header', '--slo-file',
  '--prometheus-url', '--recipe', '--fault', '--input', '--input-dir', '--output', '--base-url', '--qps', '--sharegpt', '--html',
  // traffic: one of these names the load, none is assumed.
  '--rate', '--stages', '--trace', '--concurrency',
])

describe('--help', () => {
  test.each(commands().map(([path]) => [path.join(' ') || '(fluxperf)', path] as const))('%s ends with an "Exit codes:" block', (_name, path) => {
    const help = helpOf(path)
    const block = help.slice(help.indexOf('\nExit codes:\n'))
    expect(help).toContain('\nExit codes:\n')
    // The last thing printed, after every option.
    expect(help.indexOf('Options:')).toBeLessThan(help.indexOf('Exit codes:'))
    expect(block).toMatch(/^\s+0\s+\S/m)
    expect(block).toMatch(/^\s+2\s+.*(usage|bad flag|malformed)/m)
  })

  test.each([
    [['run'], '--concurrency', '(default: 1)'],
    [['run'], '--num-samples', '(default: all)'],
    [['run'], '--timeout', '(default: 300)'],
    [['run'], '--max-error-rate', '(default: 0)'],
    [['run'], '--temperature', "(default: the server's)"],
    [['multi-turn'], '--conversations', '(default: 11)'],
    [['multi-turn'], '--seed-documents', '(default: ./seed-documents when the current directory has one, else the shipped set'],
    [['multi-turn'], '--max-output-tokens', '(default: --max-tokens, 500)'],
    [['multi-round-qa'], '--num-users', '(default: 10)'],
    [['multi-round-qa'], '--max-output-tokens', '(default: --answer-len, 200)'],
    [['mock'], '--port', '(default: 8001)'],
    [['prometheus', 'check'], '--metrics', '(default: every metric exposed)'],
  ])('%j %s shows %s', (path, flag, shown) => {
    expect(flagHelp(helpOf(path), flag)).toContain(shown)
  })

  test.each([
    [['run'], ['0', '1', '2', '99', '130'], 'a cold round not cold'],
    [['multi-turn'], ['0', '1', '2', '99', '130'], 'a cold round not cold'],
    [['multi-round-qa'], ['0', '1', '2', '99', '130'], 'INTERRUPTED'],
    [['mock'], ['0', '1', '2'], 'its parent process exited'],
    [['data', 'validate'], ['0', '2'], 'malformed rows'],
  ])('%j lists exit codes %j', (path, codes, words) => {
    const block = helpOf(path).split('\nExit codes:\n')[1] as string
    expect([...block.matchAll(/^ {2}(\d+) /gm)].map((m) => m[1])).toEqual(codes)
    expect(block.replace(/\s+/g, ' ')).toContain(words)
  })

  test('every flag that takes a value shows its default, unless it has none', () => {
    const missing = commands().flatMap(([path, command]) => command.options
      .filter((o) => (o.required || o.optional) && !NO_DEFAULT.has(o.long as string))
      .filter((o) => !/\bdefault\b/.test(command.createHelp().optionDescription(o)))
      .map((o) => `${path.join(' ')} ${o.long}`))
    expect(missing).toEqual([])
  })

  test('defaults shown only in the text leave the parsed flags as they were (undefined when not given)', async () => {
    const program = buildProgram()
    const run = program.commands.find((c) => c.name() === 'run') as Command
    run.action(() => {})
    await program.parseAsync(['run', '--mock-server', '--dataset', 'x.jsonl'], { from: 'user' })
    const flags = run.opts()
    expect(flags['concurrency']).toBeUndefined()
    expect(flags['numSamples']).toBeUndefined()
    expect(flags['maxErrorRate']).toBeUndefined()
    expect(flags['temperature']).toBeUndefined()
  })

  test('fluxperf run --help (the real CLI): exit 0, the defaults and the exit codes', async () => {
    const r = await runCli(['run', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('(default: 1)')
    expect(r.stdout).toMatch(/\nExit codes:\n {2}0 {4}PASSED/)
    expect(r.stdout.trimEnd()).toMatch(/130 {2}INTERRUPTED: .*$/)
  })
})
