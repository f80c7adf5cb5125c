/**
 * The server a recipe manages: started without a shell in its own process group (so a Ctrl-C reaches
 * fluxperf first, which then stops the server in order, and a server's worker processes are stopped with
 * it), healthy when `health_url` answers 200, stopped with SIGTERM and then SIGKILL after a timeout. Its
 * output goes to a log file; the last lines are quoted when it fails to start.
 */

import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import type { WriteStream } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { undici } from '../lazyRequire.ts'
import { resolveProgram } from './argv.ts'
import type { ServerSpec } from './recipe.ts'

/** Why a server could not be started (the stage fails; the recipe goes on with the next stage). */
export class ServerStartError extends Error {
  override readonly name = 'ServerStartError'
}

const TAIL_LINES = 20

/** A started server. */
export class ManagedServer {
  readonly spec: ServerSpec
  readonly logPath: string
  #child: ChildProcess | undefined
  #log: WriteStream | undefined
  #tail: string[] = []
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined
  #exited = false
  #spawnError: Error | undefined
  readonly #onProcessExit = (): void => this.#killGroup('SIGKILL')

  constructor(spec: ServerSpec, logPath: string) {
    this.spec = spec
    this.logPath = logPath
  }

  /** The command as run, for messages. */
  get commandLine(): string {
    return this.spec.argv.map((w) => (/[\s"'\\]/.test(w) ? JSON.stringify(w) : w)).join(' ')
  }

  /**
   * Starts the server and waits until `health_url` answers 200.
   * @throws ServerStartError when something already answers at `health_url`, the program cannot be
   * started, it exits before it is healthy, or it is not healthy within `startup_timeout` (it is then stopped).
   */
  async start(signal?: AbortSignal): Promise<void> {
    const already = await probe(this.spec.healthUrl)
    if (already.startsWith('HTTP')) {
      throw new ServerStartError(`something already answers at ${this.spec.healthUrl} (${already}) before the server was started; stop it, or give the recipe another port`)
    }
    mkdirSync(dirname(this.logPath), { recursive: true })
    this.#log = createWriteStream(this.logPath, { flags: 'a' })
    this.#log.write(`# fluxperf: starting ${this.commandLine}\n`)
    const [program, ...args] = resolveProgram(this.spec.argv)
    const child = spawn(program as string, args, {
      cwd: this.spec.cwd,
      env: this.spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      shell: false,
    })
    this.#child = child
    process.on('exit', this.#onProcessExit)
    this.#exit = new Promise((resolve) => {
      child.once('exit', (code, sig) => {
        this.#exited = true
        process.off('exit', this.#onProcessExit)
        resolve({ code, signal: sig })
      })
      child.once('error', (error) => {
        this.#spawnError = error
        this.#exited = true
        process.off('exit', this.#onProcessExit)
        resolve({ code: null, signal: null })
      })
    })
    const collect = (chunk: Buffer): void => {
      this.#log?.write(chunk)
      const lines = chunk.toString('utf8').split('\n').filter((l) => l.trim() !== '')
      this.#tail.push(...lines)
      if (this.#tail.length > TAIL_LINES) this.#tail.splice(0, this.#tail.length - TAIL_LINES)
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)

    const deadline = performance.now() + this.spec.startupTimeoutS * 1000
    const exited = this.#exit.then((e) => ({ exited: e }))
    for (;;) {
      if (signal?.aborted) {
        await this.stop()
        throw new ServerStartError('interrupted while waiting for the server to become healthy')
      }
      const state = await probe(this.spec.healthUrl)
      if (state === 'HTTP 200') return
      const outcome = await Promise.race([exited, sleep(250).then(() => undefined)])
      if (outcome && this.#spawnError) {
        const code = (this.#spawnError as NodeJS.ErrnoException).code
        throw new ServerStartError(`cannot start "${program}" (${code === 'ENOENT' ? 'no such program' : (code ?? this.#spawnError.message)}); check server.command`)
      }
      if (outcome) {
        const how = outcome.exited.signal ? `was killed by ${outcome.exited.signal}` : `exited with code ${outcome.exited.code}`
        throw new ServerStartError(`the server ${how} before ${this.spec.healthUrl} answered 200${this.#tailText()}`)
      }
      if (performance.now() > deadline) {
        await this.stop()
        throw new ServerStartError(`${this.spec.healthUrl} did not answer 200 within ${this.spec.startupTimeoutS} s (last: ${state}); the server was stopped${this.#tailText()}`)
      }
    }
  }

  /** SIGTERM to the server's process group, SIGKILL after `stop_timeout`; resolves when it has exited. */
  async stop(): Promise<void> {
    const child = this.#child
    if (!child || this.#exited) {
      this.#closeLog()
      return
    }
    this.#killGroup('SIGTERM')
    const timer = sleep(this.spec.stopTimeoutS * 1000).then(() => 'timeout' as const)
    const outcome = await Promise.race([this.#exit, timer])
    if (outcome === 'timeout') {
      this.#log?.write(`# fluxperf: no exit ${this.spec.stopTimeoutS} s after SIGTERM; sending SIGKILL\n`)
      this.#killGroup('SIGKILL')
      await this.#exit
    }
    this.#closeLog()
  }

  #killGroup(sig: NodeJS.Signals): void {
    const pid = this.#child?.pid
    if (pid === undefined || this.#exited) return
    try {
      process.kill(-pid, sig)
    } catch {
      try {
        this.#child?.kill(sig)
      } catch {
        // already gone
      }
    }
  }

  #closeLog(): void {
    this.#log?.end()
    this.#log = undefined
  }

  #tailText(): string {
    return this.#tail.length > 0 ? `; its last output (full log: ${this.logPath}):\n  ${this.#tail.slice(-10).join('\n  ')}` : ` (no output; log: ${this.logPath})`
  }
}

/** `HTTP <status>` when something answers, `refused` when nothing listens, or the error code. */
async function probe(url: string): Promise<string> {
  try {
    const res = await undici().request(url, { method: 'GET', headersTimeout: 2000, bodyTimeout: 2000, signal: AbortSignal.timeout(3000) })
    await res.body.dump()
    return `HTTP ${res.statusCode}`
  } catch (error) {
    const err = error as { code?: string; cause?: { code?: string }; name?: string }
    const code = err.code ?? err.cause?.code
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'refused'
    return code ?? err.name ?? 'error'
  }
}
