import { readFileSync } from 'node:fs'
import type { Dispatcher } from 'undici'
import { InputError } from '../errors.ts'
import { undici } from '../lazyRequire.ts'
import { printable } from '../printable.ts'
import type { TransportSummary } from '../types.ts'
import { Http1Pool } from './http1Pool.ts'
import type { RequestDispatcher } from './http1Pool.ts'
import { API_PATHS, apiKindOf } from './openai.ts'
import type { ApiKind } from './openai.ts'

/** How to reach an OpenAI-compatible endpoint. */
export interface EndpointOptions {
  /** Full endpoint URL, e.g. `http://127.0.0.1:8000/v1/chat/completions` (or `/v1/completions`). */
  url: string
  /** Sent as `Authorization: Bearer <key>`. Never written to any file or message. */
  apiKey?: string
  /** Extra request headers. */
  headers?: Record<string, string>
  /** Connections in the pool: at least the peak number of concurrent streams. @default 1 */
  connections?: number
  /** Whole-request timeout, ms: also the stalled-stream guard (undici `bodyTimeout`). @default 300000 */
  timeoutMs?: number
  /** Reuse connections between requests. @default true */
  keepAlive?: boolean
  /**
   * How long an idle connection is kept for reuse, ms; a server's shorter `Keep-Alive: timeout=` hint (less
   * a 1 s margin) wins. Shorter than the idle timeouts of common servers (uvicorn 5 s), as undici's. @default 4000
   */
  keepAliveTimeoutMs?: number
  /**
   * Forward proxy for every request, e.g. `http://proxy:3128`; `false` ignores the environment. By default
   * `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY` (and their lower-case forms) apply, as in undici's EnvHttpProxyAgent.
   */
  proxy?: string | false
  /** PEM file of certificate authorities to trust for https:// (besides Node's own and NODE_EXTRA_CA_CERTS). */
  caFile?: string
  /** Accept any TLS certificate (self-signed, expired, wrong host). @default false */
  insecure?: boolean
  /** Headers whose values are secrets (redacted from every message), besides Authorization and the API key. */
  secretHeaders?: string[]
}

/** A resolved endpoint: its pool and the parts every request needs. */
export interface Endpoint {
  url: string
  origin: string
  path: string
  kind: ApiKind
  headers: Record<string, string>
  /** Http1Pool for http://, undici's Pool for https://. */
  dispatcher: RequestDispatcher
  timeoutMs: number
  keepAlive: boolean
  /** Values never to print or write: the API key, Authorization, and `secretHeaders` values. */
  secrets: string[]
  /** How requests travel (client, keep-alive, proxy, TLS) and what the pool saw so far. */
  transport(): TransportSummary
  /**
   * Opens idle connections up to `count` (capped at the pool size) before a run's clock starts, and
   * resolves with how many are open. Plain http:// only; over https:// (undici) it resolves 0 and
   * connections open with the first requests.
   */
  preconnect(count: number): Promise<number>
  close(): Promise<void>
}

/** Parses and checks an endpoint URL; errors name the flag. */
export function parseEndpointUrl(url: string, flag = '--endpoint'): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InputError(`"${url}" is not a URL; expected for example http://127.0.0.1:8000/v1/chat/completions`, flag)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InputError(`"${url}" must start with http:// or https://`, flag)
  }
  return parsed
}

/**
 * The API endpoint a URL names. A full path (`.../chat/completions`, `.../completions`) is taken as it is; a
 * base URL (a server root, or a path ending in `/v1`) gets the chat path appended, and `notice` says so, naming
 * `flag`: every request to a base URL would be a 404.
 */
export function apiEndpointUrl(value: string, notice: (message: string) => void, flag = '--endpoint', api?: ApiKind): string {
  const url = parseEndpointUrl(value, flag)
  const named = API_PATH_END.exec(url.pathname)
  if (named) {
    if (api === undefined || apiKindOf(url.pathname) === api) return value
    // --api names the API: the same server's endpoint for it.
    const full = apiEndpointUnder(`${url.origin}${url.pathname.slice(0, named.index)}`, api)
    notice(`${flag} ${value} is the ${apiKindOf(url.pathname)} endpoint; with the ${api} API, requests go to ${full}`)
    return full
  }
  const full = apiEndpointUnder(value.replace(/[?#].*$/, ''), api ?? 'chat')
  notice(`${flag} ${value} is a base URL; requests go to ${full} (${api === undefined ? 'give the full path or --api to use another API, e.g. /v1/completions' : `the ${api} API`})`)
  return full
}

/** An endpoint path of one of the APIs (its start is the base URL). */
const API_PATH_END = /(\/v1)?\/(chat\/completions|completions|responses)\/?$/

/** The endpoint of an API (chat by default) under a server root or a base URL ending in `/v1`. */
export function apiEndpointUnder(baseUrl: string, api: ApiKind = 'chat'): string {
  const base = baseUrl.replace(/\/+$/, '')
  const path = API_PATHS[api]
  return /\/v1$/.test(base) ? `${base}${path.slice(3)}` : `${base}${path}`
}

/** undici's default idle time for a kept-alive connection, shorter than common servers' own (uvicorn 5 s). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 4_000

/** Opens a connection pool sized for the workload (no pipelining: one stream per connection). */
export function openEndpoint(options: EndpointOptions): Endpoint {
  const parsed = parseEndpointUrl(options.url)
  const timeoutMs = options.timeoutMs ?? 300_000
  const keepAlive = options.keepAlive ?? true
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS
  const connections = Math.max(1, options.connections ?? 1)
  const connectTimeoutMs = Math.min(timeoutMs, 30_000)
  const proxy = proxySettings(parsed, options.proxy)
  const tls = tlsOptions(options)
  const undiciOptions = {
    connections,
    pipelining: 1,
    keepAliveTimeout,
    keepAliveMaxTimeout: Math.max(keepAliveTimeout, 600_000),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: connectTimeoutMs, ...tls },
  }
  // Plain HTTP gets the allocation-free reader of http1Pool.ts; TLS and proxies stay with undici
  // (docs/design/http-client.md#which-transport-carries-a-request).
  let dispatcher: RequestDispatcher
  let client: TransportSummary['client']
  if (proxy) {
    const { EnvHttpProxyAgent } = undici()
    const agent = new EnvHttpProxyAgent({ ...undiciOptions, ...proxy.agent, requestTls: tls })
    dispatcher = withOrigin(agent, parsed.origin)
    client = 'undici-proxy'
  } else if (parsed.protocol === 'http:') {
    dispatcher = new Http1Pool(parsed.origin, { connections, keepAliveTimeoutMs: keepAliveTimeout, connectTimeoutMs })
    client = 'fluxperf-http1'
  } else {
    const { Pool } = undici()
    dispatcher = new Pool(parsed.origin, undiciOptions)
    client = 'undici'
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream, application/json' }
  for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v
  if (options.apiKey) headers['authorization'] = `Bearer ${options.apiKey}`
  const secrets = secretValues({ apiKey: options.apiKey, headers, secretHeaders: options.secretHeaders, urls: [options.url, options.proxy || undefined] })
  return {
    url: redactUrl(parsed),
    origin: parsed.origin,
    path: parsed.pathname + parsed.search,
    kind: apiKindOf(parsed.pathname),
    headers,
    dispatcher,
    timeoutMs,
    keepAlive,
    secrets,
    transport: () => {
      const summary: TransportSummary = { client, keepAlive, idleTimeoutMs: keepAliveTimeout }
      if (proxy) summary.proxy = proxy.described
      if (parsed.protocol === 'https:') summary.tls = { insecure: options.insecure === true, ...(options.caFile ? { caFile: options.caFile } : {}) }
      if (dispatcher instanceof Http1Pool) summary.connections = { ...dispatcher.stats }
      return summary
    },
    preconnect: (count) => (dispatcher instanceof Http1Pool ? dispatcher.preconnect(count) : Promise.resolve(0)),
    close: () => dispatcher.close(),
  }
}

/**
 * The secret values among a request's settings: the API key, the values of Authorization, `x-api-key`,
 * `api-key` and every `secretHeaders` header (with and without `Bearer `), and the passwords of URLs.
 * Redacted from every message and file (the CLI's recipes use it for their variables too).
 */
export function secretValues(settings: { apiKey?: string; headers?: Record<string, string>; secretHeaders?: readonly string[]; urls?: readonly (string | undefined)[] }): string[] {
  const names = new Set(['authorization', 'x-api-key', 'api-key', ...(settings.secretHeaders ?? []).map((h) => h.toLowerCase())])
  const secrets = Object.entries(settings.headers ?? {}).filter(([k]) => names.has(k.toLowerCase())).map(([, v]) => v)
  if (settings.apiKey) secrets.push(settings.apiKey)
  for (const url of settings.urls ?? []) {
    if (!url) continue
    try {
      const password = new URL(url).password
      if (password) secrets.push(password, decodeURIComponent(password))
    } catch {
      // not a URL: whoever parses it reports that
    }
  }
  for (const v of [...secrets]) {
    const token = /^bearer\s+(.+)$/i.exec(v)?.[1]
    if (token) secrets.push(token)
  }
  return secrets.filter((v) => v.length >= 4)
}

/** Which proxy settings apply to `url`: none, the `proxy` option, or the environment's (undici reads NO_PROXY itself). */
function proxySettings(url: URL, proxy: string | false | undefined): { agent: { httpProxy?: string; httpsProxy?: string; noProxy?: string }; described: string } | undefined {
  if (proxy === false) return undefined
  if (proxy !== undefined) {
    const parsed = parseEndpointUrl(proxy, '--proxy')
    return { agent: { httpProxy: parsed.href, httpsProxy: parsed.href }, described: redactUrl(parsed) }
  }
  const env = process.env
  const fromEnv = url.protocol === 'https:'
    ? env['https_proxy'] ?? env['HTTPS_PROXY'] ?? env['http_proxy'] ?? env['HTTP_PROXY']
    : env['http_proxy'] ?? env['HTTP_PROXY']
  if (!fromEnv) return undefined
  const noProxy = env['no_proxy'] ?? env['NO_PROXY']
  const name = url.protocol === 'https:' && (env['https_proxy'] ?? env['HTTPS_PROXY']) ? 'HTTPS_PROXY' : 'HTTP_PROXY'
  const parsed = parseEndpointUrl(fromEnv, name)
  return { agent: {}, described: `${redactUrl(parsed)} (from ${name}${noProxy ? `; NO_PROXY=${noProxy} applies` : ''})` }
}

/** TLS options for undici's connector: extra CAs, or no verification at all. */
function tlsOptions(options: EndpointOptions): { ca?: string; rejectUnauthorized?: boolean } {
  const tls: { ca?: string; rejectUnauthorized?: boolean } = {}
  if (options.caFile) {
    try {
      tls.ca = readFileSync(options.caFile, 'utf8')
    } catch (error) {
      throw new InputError(`cannot read "${options.caFile}": ${(error as Error).message}`, '--ca-file')
    }
    if (!tls.ca.includes('-----BEGIN CERTIFICATE-----')) throw new InputError(`"${options.caFile}" holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`, '--ca-file')
  }
  if (options.insecure) tls.rejectUnauthorized = false
  return tls
}

/** An Agent bound to one origin, so it takes the same dispatch options as a Pool. */
function withOrigin(agent: Dispatcher, origin: string): RequestDispatcher {
  return {
    dispatch: (options, handler) => agent.dispatch({ ...options, origin }, handler),
    close: () => agent.close(),
  }
}

/** The URL without user:password, for messages and reports. */
export function redactUrl(url: URL): string {
  if (!url.username && !url.password) return url.href
  const copy = new URL(url.href)
  copy.username = ''
  copy.password = ''
  return copy.href
}

/** The server's base (`.../v1`) from a chat or completions endpoint URL. */
export function baseUrlOf(endpointUrl: string): string {
  return endpointUrl.replace(/\/(chat\/completions|completions|responses)\/?$/, '')
}

/**
 * The first model id of `GET <base>/models`, or undefined when the server does not answer it.
 * Used when no `--model` is given.
 */
export async function firstModelId(endpoint: Endpoint): Promise<string | undefined> {
  const id = (await listModels(endpoint))?.data?.[0]?.id
  // Printed in every summary: no terminal escapes from a server's model list.
  return typeof id === 'string' ? printable(id) : undefined
}

/** What `GET <base>/models` answered (OpenAI's list shape), or undefined when it did not answer 200 with JSON. */
export async function listModels(endpoint: Endpoint): Promise<{ data?: { id?: unknown; owned_by?: unknown }[]; headers: Record<string, string | string[] | undefined> } | undefined> {
  try {
    const { status, body, headers } = await httpText(endpoint, 'GET', baseUrlOf(endpoint.path) + '/models', 10_000)
    if (status !== 200) return undefined
    return { ...(JSON.parse(body) as { data?: { id?: unknown; owned_by?: unknown }[] }), headers }
  } catch {
    return undefined
  }
}

/**
 * The server's clock against this host's, ms (server − local), from the `Date` header of `GET <base>/models`
 * taken at the midpoint of the request; `Date` has 1 s resolution, so the offset is known to ±0.5 s plus half
 * the round trip. Undefined when the server sends no (valid) `Date`.
 */
export async function serverClockOffsetMs(endpoint: Endpoint): Promise<number | undefined> {
  try {
    const before = Date.now()
    const { headers } = await httpText(endpoint, 'GET', baseUrlOf(endpoint.path) + '/models', 10_000)
    const after = Date.now()
    const date = headers['date']
    const server = Date.parse(Array.isArray(date) ? (date[0] ?? '') : (date ?? ''))
    // The header truncates to the second: its middle is the best estimate of the server's instant.
    return Number.isFinite(server) ? server + 500 - (before + after) / 2 : undefined
  } catch {
    return undefined
  }
}

/** The answer of a small request: status, headers and body text. */
export interface TextAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/**
 * A small request (GET, or a POST without body) through the endpoint's own dispatcher, so that its proxy,
 * TLS and authorization apply: for model lists, cache resets and engine probes. Rejects on a network
 * failure or after `timeoutMs`; the body is cut at 64 KB.
 */
export function httpText(endpoint: Endpoint, method: 'GET' | 'POST', path: string, timeoutMs = 10_000): Promise<TextAnswer> {
  const headers = pick(endpoint.headers, 'authorization')
  return new Promise((resolve, reject) => {
    let status = 0
    let responseHeaders: TextAnswer['headers'] = {}
    const parts: Buffer[] = []
    let size = 0
    let controller: { abort(reason: Error): void } | undefined
    const timer = setTimeout(() => controller?.abort(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs)
    endpoint.dispatcher.dispatch({ path, method, headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, {
      onRequestStart: (c) => {
        controller = c
      },
      onResponseStart: (_c, statusCode, h) => {
        status = statusCode
        responseHeaders = { ...h }
      },
      // Copied: a chunk is only valid during the call.
      onResponseData: (_c, chunk) => {
        if (size < 65_536) parts.push(Buffer.from(chunk))
        size += chunk.length
      },
      onResponseEnd: () => {
        clearTimeout(timer)
        resolve({ status, headers: responseHeaders, body: Buffer.concat(parts).toString('utf8') })
      },
      onResponseError: (_c, error) => {
        clearTimeout(timer)
        reject(error)
      },
    })
  })
}

function pick(headers: Record<string, string>, name: string): Record<string, string> {
  const value = headers[name]
  return value === undefined ? {} : { [name]: value }
}

/**
 * `text` with every secret value replaced by `[redacted]`, whatever its case: a server that echoes a key
 * lower-cased (or a proxy that upper-cases a header) must not carry it into a report.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length === 0) continue
    const lower = out.toLowerCase()
    const needle = secret.toLowerCase()
    if (!lower.includes(needle)) continue
    let result = ''
    let from = 0
    for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, at + needle.length)) {
      result += out.slice(from, at) + '[redacted]'
      from = at + needle.length
    }
    out = result + out.slice(from)
  }
  return out
}
