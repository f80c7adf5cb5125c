import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { openEndpoint, requestContext, sendRequest } from '../../src/client/index.ts'
import type { EndpointOptions } from '../../src/client/index.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import type { RequestRecord } from '../../src/types.ts'
import { forwardProxy } from '../helpers/forwardProxy.ts'
import { sseServer } from '../helpers/sseServer.ts'
import type { ConnectionPolicy } from '../helpers/sseServer.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function server(policy: ConnectionPolicy = {}): Promise<string> {
  const s = await sseServer(policy)
  cleanups.push(() => s.close())
  return s.url
}

async function send(options: EndpointOptions, n = 1): Promise<{ records: RequestRecord[]; transport: ReturnType<ReturnType<typeof openEndpoint>['transport']> }> {
  const endpoint = openEndpoint({ connections: 1, ...options })
  cleanups.push(() => endpoint.close())
  const ctx = requestContext(endpoint, { model: 'm' }, await getTokenizer())
  const records: RequestRecord[] = []
  for (let i = 0; i < n; i++) records.push(await sendRequest(ctx, [{ role: 'user', content: 'q' }], { id: `${i}`, index: i, sessionId: 's', turnIndex: 0, round: 1, concurrency: 1 }))
  return { records, transport: endpoint.transport() }
}

/** Sets environment variables for one test. */
function withEnv(vars: Record<string, string | undefined>): void {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  cleanups.push(() => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
}

const noProxyEnv = { HTTP_PROXY: undefined, http_proxy: undefined, HTTPS_PROXY: undefined, https_proxy: undefined, NO_PROXY: undefined, no_proxy: undefined }

describe('forward proxies', () => {
  test('HTTP_PROXY carries every request through the proxy (undici EnvHttpProxyAgent)', async () => {
    const url = await server()
    const proxy = await forwardProxy()
    cleanups.push(() => proxy.close())
    withEnv({ ...noProxyEnv, HTTP_PROXY: proxy.url })
    const { records, transport } = await send({ url }, 2)
    expect(records.every((r) => r.ok)).toBe(true)
    expect(proxy.forwarded()).toBe(2)
    expect(transport.client).toBe('undici-proxy')
    expect(transport.proxy).toContain('HTTP_PROXY')
  })

  test('NO_PROXY exempts a host: the proxy sees nothing', async () => {
    const url = await server()
    const proxy = await forwardProxy()
    cleanups.push(() => proxy.close())
    withEnv({ ...noProxyEnv, HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' })
    const { records } = await send({ url })
    expect(records[0]?.ok).toBe(true)
    expect(proxy.forwarded()).toBe(0)
  })

  test('the proxy option, with credentials kept out of the results', async () => {
    const url = await server()
    const proxy = await forwardProxy()
    cleanups.push(() => proxy.close())
    withEnv(noProxyEnv)
    const withUser = proxy.url.replace('http://', 'http://user:s3cretpass@')
    const { records, transport } = await send({ url, proxy: withUser })
    expect(records[0]?.ok).toBe(true)
    expect(proxy.forwarded()).toBe(1)
    expect(JSON.stringify(transport)).not.toContain('s3cretpass')
  })

  test('proxy: false ignores the environment; no proxy set keeps fluxperf\'s own http:// reader', async () => {
    const url = await server()
    withEnv({ ...noProxyEnv, HTTP_PROXY: 'http://127.0.0.1:9' })
    expect((await send({ url, proxy: false })).transport.client).toBe('fluxperf-http1')
    withEnv(noProxyEnv)
    expect((await send({ url })).transport.client).toBe('fluxperf-http1')
  })

  test('an unknown host is named a DNS failure', async () => {
    withEnv(noProxyEnv)
    const { records } = await send({ url: 'http://no-such-host.invalid/v1/chat/completions' })
    expect(records[0]?.error?.kind).toBe('dns_failed')
    expect(records[0]?.error?.message).toMatch(/DNS lookup failed/)
  })
})

describe('TLS', () => {
  let pems: { key: string; cert: string; certFile: string } | undefined
  try {
    const dir = mkdtempSync(join(tmpdir(), 'fluxperf-tls-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    pems = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), certFile: join(dir, 'cert.pem') }
    afterAll(() => rmSync(dir, { recursive: true, force: true }))
  } catch {
    console.warn('skipped: TLS tests need the openssl command to make a self-signed certificate')
  }

  test.skipIf(!pems)('a self-signed server fails without --ca-file, and works with --ca-file or --insecure', async () => {
    const tls = pems as NonNullable<typeof pems>
    withEnv(noProxyEnv)
    const url = await server({ tls, keepAliveHeader: 'timeout=5' })
    const refused = await send({ url })
    expect(refused.records[0]?.ok).toBe(false)
    expect(refused.records[0]?.error?.message).toMatch(/certificate/i)
    const trusted = await send({ url, caFile: tls.certFile }, 2)
    expect(trusted.records.every((r) => r.ok)).toBe(true)
    expect(trusted.transport).toMatchObject({ client: 'undici', tls: { insecure: false, caFile: tls.certFile } })
    expect((await send({ url, insecure: true })).records[0]?.ok).toBe(true)
  })

  test.skipIf(!pems)('over https:// too, a connection closed before any response byte is re-sent once', async () => {
    const tls = pems as NonNullable<typeof pems>
    withEnv(noProxyEnv)
    let drops = 1
    const url = await server({ tls, keepAliveHeader: 'timeout=5', drop: ({ reused }) => reused && drops-- > 0 })
    const { records } = await send({ url, insecure: true }, 3)
    expect(records.map((r) => r.ok)).toEqual([true, true, true])
    expect(records[1]?.resent).toBe(true)
  })

  test('--ca-file that is not a PEM file is an input error naming the flag', () => {
    expect(() => openEndpoint({ url: 'https://127.0.0.1:9/v1/chat/completions', caFile: '/etc/hostname' })).toThrow(/--ca-file.*PEM|PEM.*ca-file/s)
  })
})
