import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { ManagedServer, ServerStartError } from '../../src/config/index.ts'
import type { ServerSpec } from '../../src/config/index.ts'
import { freePort, listening } from '../helpers/net.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-server-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const started: ManagedServer[] = []
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop()
})

function server(argv: string[], port: number, more: Partial<ServerSpec> = {}): ManagedServer {
  const s = new ManagedServer({ argv, healthUrl: `http://127.0.0.1:${port}/health`, restart: 'per-stage', startupTimeoutS: 20, stopTimeoutS: 5, env: { ...process.env } as Record<string, string>, ...more }, join(dir, `server-${port}.log`))
  started.push(s)
  return s
}

/** A tiny HTTP server as a child program: answers 200 on PORT, optionally ignoring SIGTERM. */
const httpServer = (ignoreTerm: boolean): string =>
  `${ignoreTerm ? "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));" : ''} require('node:http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('up'))`

describe('ManagedServer', () => {
  test('starts with the given environment, is healthy on 200, stops on SIGTERM; output goes to the log', async () => {
    const port = await freePort()
    const s = server(['node', '-e', httpServer(false)], port, { env: { ...(process.env as Record<string, string>), PORT: String(port) } })
    await s.start()
    expect(await listening(port)).toBe(true)
    await s.stop()
    expect(await listening(port)).toBe(false)
    expect(readFileSync(s.logPath, 'utf8')).toMatch(/# fluxperf: starting node -e .*\nup\n/)
  })

  test('a server that ignores SIGTERM is killed after stop_timeout', async () => {
    const port = await freePort()
    const s = server(['node', '-e', httpServer(true)], port, { stopTimeoutS: 0.3, env: { ...(process.env as Record<string, string>), PORT: String(port) } })
    await s.start()
    await s.stop()
    expect(await listening(port)).toBe(false)
    const log = readFileSync(s.logPath, 'utf8')
    expect(log).toContain('ignoring SIGTERM')
    expect(log).toContain('no exit 0.3 s after SIGTERM; sending SIGKILL')
  })

  test('never healthy within startup_timeout: stopped, with an error saying so', async () => {
    const port = await freePort()
    const s = server(['node', '-e', "console.log('loading weights...'); setInterval(() => {}, 1000)"], port, { startupTimeoutS: 0.5, stopTimeoutS: 2 })
    const error = await s.start().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ServerStartError)
    expect((error as Error).message).toMatch(/did not answer 200 within 0\.5 s \(last: refused\); the server was stopped; its last output .*:\n {2}loading weights\.\.\./)
  })

  test('a program that does not exist', async () => {
    const error = await server(['no-such-program-for-fluxperf'], await freePort()).start().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ServerStartError)
    expect((error as Error).message).toBe('cannot start "no-such-program-for-fluxperf" (no such program); check server.command')
  })

  test('an aborted wait stops the server', async () => {
    const port = await freePort()
    const s = server(['node', '-e', 'setInterval(() => {}, 1000)'], port)
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 300)
    await expect(s.start(controller.signal)).rejects.toThrow(/interrupted/)
  })
})
