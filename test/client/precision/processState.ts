/**
 * What precision mode may change in a process, read from /proc, and a fresh Node to try it in (pinned to
 * one CPU, or as an unprivileged user, as a test needs).
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { expect } from 'vitest'

/** One thread: its name and scheduling policy (0 SCHED_OTHER, 1 SCHED_FIFO, 3 SCHED_BATCH, 5 SCHED_IDLE). */
export interface TaskState {
  tid: string
  comm: string
  policy: number
}

/** The threads of this process (those that end while being read are left out), by thread id. */
export function tasks(): TaskState[] {
  const states: TaskState[] = []
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const policy = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38])
      states.push({ tid, comm: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), policy })
    } catch {
      // ended meanwhile
    }
  }
  return states.sort((a, b) => Number(a.tid) - Number(b.tid))
}

export const linux = process.platform === 'linux'
export const hasChrt = linux && spawnSync('chrt', ['--version'], { stdio: 'ignore' }).status === 0
export const hasTaskset = linux && spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0
/** Root here, and setpriv can drop to an unprivileged user: both sides of a permission can be tried. */
export const canDropPrivileges = linux && process.getuid?.() === 0 && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', 'true'], { stdio: 'ignore' }).status === 0

/** Prefix that runs a command as `nobody` without capabilities (needs canDropPrivileges). */
export const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']
/** Prefix that confines a command to CPU 0 (needs hasTaskset). */
export const ON_CPU_0 = ['taskset', '-c', '0']

/** A module of this repository, as an import specifier for a script run elsewhere. */
export const srcModule = (path: string): string => JSON.stringify(new URL(`../../../src/${path}`, import.meta.url).href)

/** The TaskState reader above, as source for a child script (defines `tasks()`). */
export const TASKS_SOURCE = `
import { readdirSync as __readdir, readFileSync as __read } from 'node:fs'
const tasks = () => __readdir('/proc/self/task').flatMap((tid) => {
  try {
    const stat = __read('/proc/self/task/' + tid + '/stat', 'utf8')
    return [{ tid, comm: __read('/proc/self/task/' + tid + '/comm', 'utf8').trim(), policy: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]) }]
  } catch { return [] }
}).sort((a, b) => Number(a.tid) - Number(b.tid))
`

/** Runs an ES module `script` in a fresh Node under `prefix`, and parses the JSON of its last output line. */
export function runNode<T>(script: string, prefix: readonly string[] = [], env: NodeJS.ProcessEnv = {}): T {
  const command = [...prefix, process.execPath, '--input-type=module', '-e', TASKS_SOURCE + script]
  const result = spawnSync(command[0] as string, command.slice(1), { encoding: 'utf8', env: { ...process.env, ...env }, cwd: '/' })
  expect(result.status, result.stderr).toBe(0)
  return JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as T
}
