import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../../bin/fluxperf.mjs', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs `fluxperf ...args` in a child process with this Node (24), from the repository root.
 * `onStdout` sees output as it arrives (e.g. to send a signal at the right moment).
 */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; onSpawn?: (child: import('node:child_process').ChildProcess) => void; onStdout?: (text: string, child: import('node:child_process').ChildProcess) => void; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    options.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      options.onStdout?.(stdout, child)
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** True when the text looks like a stack trace (what users must never see). */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text)
}
