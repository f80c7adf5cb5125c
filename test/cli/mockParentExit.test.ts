// `fluxperf mock` must not outlive the process that started it: with `npx fluxperf mock &`, `kill $!` ends
// npm, which does not pass SIGTERM on to node. The mock watches its parent and stops when it goes away;
// SIGTERM and SIGHUP sent to node itself stop it too. Each case asserts that the process ended and the
// port is free again, polling with generous bounds (no timing thresholds).
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, test } from 'vitest'

const bin = fileURLToPath(new URL('../../bin/fluxperf.mjs', import.meta.url))
const root = fileURLToPath(new URL('../..', import.meta.url))
const BOUND_MS = 20_000

const started: number[] = []
afterEach(() => {
  // A mock left over by a failed assertion must not hold its port for the rest of the suite.
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
})

interface Watched {
  child: ChildProcess
  stdout: () => string
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function watch(child: ChildProcess): Watched {
  let stdout = ''
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  return { child, stdout: () => stdout, closed }
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + BOUND_MS
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`not within ${BOUND_MS / 1000} s: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The port the mock printed: `fluxperf mock: serving mock-llm at http://127.0.0.1:PORT ...`. */
function portOf(stdout: string): number | undefined {
  const m = /serving \S+ at http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)
  return m ? Number(m[1]) : undefined
}

/** True once nothing listens on the port (connection refused). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'))
  })
}

/** True once the process has exited: gone, or a zombie nobody reaped yet. */
function exited(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

describe('fluxperf mock stops when its parent goes away', () => {
  test('parent killed with SIGKILL (as npm is under npx): the mock closes its port and exits', async () => {
    // An intermediate parent that forwards nothing, like npm: a shell that starts the mock in the background.
    const sh = watch(spawn('sh', ['-c', '"$0" "$1" mock --port 0 & echo "mock pid $!"; wait', process.execPath, bin], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }))
    const pid = await until('the shell printed the mock pid', () => {
      const m = /mock pid (\d+)/.exec(sh.stdout())
      return m ? Number(m[1]) : undefined
    })
    started.push(pid)
    const port = await until('the mock printed its URL', () => portOf(sh.stdout()))
    expect(await portFree(port)).toBe(false)

    sh.child.kill('SIGKILL')

    await until('the mock exited', () => (exited(pid) ? true : undefined))
    await until('the port is free', async () => ((await portFree(port)) ? true : undefined))
    // Both writers of the pipe (shell and mock) are gone: the stream closes, after the mock's last line.
    await sh.closed
    expect(sh.stdout()).toMatch(/fluxperf mock: stopped \(its parent process exited\) after 0 requests/)
  })

  test.each(['SIGTERM', 'SIGHUP'] as const)('%s to the node process: the mock closes its port and exits 0', async (signal) => {
    const mock = watch(spawn(process.execPath, [bin, 'mock', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }))
    started.push(mock.child.pid as number)
    const port = await until('the mock printed its URL', () => portOf(mock.stdout()))
    expect(await portFree(port)).toBe(false)

    mock.child.kill(signal)

    const end = await Promise.race([mock.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), BOUND_MS))])
    expect(end).toEqual({ code: 0, signal: null })
    expect(await portFree(port)).toBe(true)
    expect(mock.stdout()).toContain(`fluxperf mock: stopped (${signal}) after 0 requests`)
  })
})
