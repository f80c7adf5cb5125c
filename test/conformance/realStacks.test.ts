/**
 * The connection-reuse conformance cases against real server stacks, not imitations: uvicorn + FastAPI
 * (how vLLM, SGLang and LiteLLM serve) and Go's net/http. `.ci/run` installs them from Debian
 * (python3-uvicorn, python3-fastapi, golang-go); without them these tests are skipped, and say so.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { openEndpoint, requestContext, sendRequest } from '../../src/client/index.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import type { Conversation, RequestRecord } from '../../src/types.ts'
import { runDualRound } from '../../src/workloads/index.ts'
import { runs, startServerProcess } from '../helpers/serverProcess.ts'
import type { ServerProcess } from '../helpers/serverProcess.ts'

const servers = fileURLToPath(new URL('../servers/', import.meta.url))
const python = '/usr/bin/python3'
const hasUvicorn = runs(python, ['-c', 'import uvicorn, fastapi'])
const hasGo = runs('go', ['version'])
if (!hasUvicorn) console.warn('SKIPPED: uvicorn conformance tests need Debian\'s python3-uvicorn and python3-fastapi (.ci/run installs them)')
if (!hasGo) console.warn('SKIPPED: Go net/http conformance tests need Debian\'s golang-go (.ci/run installs it)')

const goDir = mkdtempSync(join(tmpdir(), 'fluxperf-go-'))
afterAll(() => rmSync(goDir, { recursive: true, force: true }))
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Stack {
  name: string
  available: boolean
  /** Starts it with an idle timeout (s) and, optionally, `Connection: close` on every answer. */
  start(idleS: number, close?: boolean): Promise<ServerProcess>
}

const stacks: Stack[] = [
  {
    name: 'uvicorn + FastAPI',
    available: hasUvicorn,
    start: (idleS, close) => startServerProcess(python, [join(servers, 'uvicorn_app.py'), '--keep-alive', String(idleS), ...(close ? ['--close'] : [])]),
  },
  {
    name: 'Go net/http',
    available: hasGo,
    start: (idleS, close) => startServerProcess(join(goDir, 'go_server'), ['-idle', String(idleS), ...(close ? ['-close'] : [])]),
  },
]

beforeAll(() => {
  // Built once (go run would compile at every start); GOFLAGS off so no module download is attempted.
  if (hasGo && !runs('go', ['build', '-o', join(goDir, 'go_server'), join(servers, 'go_server.go')])) throw new Error('go build of test/servers/go_server.go failed')
}, 120_000)

async function started(stack: Stack, idleS: number, close = false): Promise<string> {
  const server = await stack.start(idleS, close)
  cleanups.push(() => server.close())
  return `${server.origin}/v1/chat/completions`
}

const prompts: Conversation[] = Array.from({ length: 8 }, (_, i) => ({ sessionId: `s${i}`, userMessages: [`question ${i}`], source: `test:${i + 1}` }))

/** Requests one after another, the given gaps (ms) apart, through one connection. */
async function spaced(url: string, gapsMs: number[], keepAliveTimeoutMs?: number): Promise<RequestRecord[]> {
  const endpoint = openEndpoint({ url, connections: 1, keepAliveTimeoutMs, proxy: false })
  cleanups.push(() => endpoint.close())
  const ctx = requestContext(endpoint, { model: 'm', maxTokens: 3 }, await getTokenizer())
  const records: RequestRecord[] = []
  for (let i = 0; i <= gapsMs.length; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, gapsMs[i - 1]))
    records.push(await sendRequest(ctx, [{ role: 'user', content: `q${i}` }], { id: `r${i}`, index: i, sessionId: 's', turnIndex: 0, round: 1, concurrency: 1 }))
  }
  return records
}

for (const stack of stacks) {
  describe.skipIf(!stack.available)(`${stack.name}${stack.available ? '' : ' (SKIPPED: not installed)'}`, () => {
    test('a dual-round run with default settings: no failed request', async () => {
      const url = await started(stack, 5)
      const run = await runDualRound({ endpoint: url, dataset: prompts, concurrency: [1, 4], maxOutputTokens: 3, seed: 1, proxy: false })
      expect(run.rounds.map((r) => r.failed)).toEqual([0, 0, 0, 0])
      expect(run.rounds.reduce((n, r) => n + r.succeeded, 0)).toBe(32)
    })

    test('idle timeout of 1 s without a hint, reuse asked for up to 10 s, requests sent around the moment it closes: none fails', async () => {
      const url = await started(stack, 1)
      const records = await spaced(url, [200, 900, 980, 1000, 1020, 1100, 1500], 10_000)
      expect(records.filter((r) => !r.ok).map((r) => r.error)).toEqual([])
    })

    test('Connection: close on every answer: never reused, nothing fails', async () => {
      const url = await started(stack, 5, true)
      const endpoint = openEndpoint({ url, connections: 2, proxy: false })
      cleanups.push(() => endpoint.close())
      const ctx = requestContext(endpoint, { model: 'm', maxTokens: 3 }, await getTokenizer())
      const records = await Promise.all(Array.from({ length: 6 }, (_, i) => sendRequest(ctx, [{ role: 'user', content: `q${i}` }], { id: `${i}`, index: i, sessionId: 's', turnIndex: 0, round: 1, concurrency: 2 })))
      expect(records.every((r) => r.ok)).toBe(true)
      expect(endpoint.transport().connections?.reused).toBe(0)
    })
  })
}
