import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

export interface ServerProcess {
  /** http://127.0.0.1:<port> */
  origin: string
  close(): Promise<void>
}

/**
 * Starts a test server program that binds 127.0.0.1:0 and prints its port on its first line; resolves
 * once the port is known. Rejects (and kills it) when it exits or prints nothing within `timeoutMs`.
 */
export function startServerProcess(command: string, args: string[], timeoutMs = 60_000): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const fail = (why: string): void => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${command} ${args.join(' ')}: ${why}\n${err.slice(-2000)}`))
    }
    const timer = setTimeout(() => fail(`printed no port within ${timeoutMs / 1000} s`), timeoutMs)
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
    child.once('exit', (code) => fail(`exited with ${code}`))
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const line = /^(\d+)\s*\n/.exec(out)
      if (!line) return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      resolve({
        origin: `http://127.0.0.1:${line[1]}`,
        close: () => new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done()
          child.once('exit', () => done())
          child.kill('SIGTERM')
          setTimeout(() => child.kill('SIGKILL'), 3000).unref()
        }),
      })
    })
  })
}

/** True when `command args` runs and exits 0 (e.g. `python3 -c "import uvicorn"`). */
export function runs(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 })
  return result.status === 0
}
