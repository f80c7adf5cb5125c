import { Pool } from 'undici'
import { InputError } from '../errors.ts'
import { Http1Pool } from './http1Pool.ts'
import type { RequestDispatcher } from './http1Pool.ts'
import { apiKindOf } from './openai.ts'
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
  /** How long an idle connection is kept open, ms; longer than any think time between turns. @default 120000 */
  keepAliveTimeoutMs?: number
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

/** Opens a connection pool sized for the workload (no pipelining: one stream per connection). */
export function openEndpoint(options: EndpointOptions): Endpoint {
  const parsed = parseEndpointUrl(options.url)
  const timeoutMs = options.timeoutMs ?? 300_000
  const keepAlive = options.keepAlive ?? true
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 120_000
  const connections = Math.max(1, options.connections ?? 1)
  const connectTimeoutMs = Math.min(timeoutMs, 30_000)
  // Plain HTTP gets the allocation-free reader of http1Pool.ts; TLS stays with undici.
  const dispatcher: RequestDispatcher = parsed.protocol === 'http:'
    ? new Http1Pool(parsed.origin, { connections, keepAliveTimeoutMs: keepAliveTimeout, connectTimeoutMs })
    : new Pool(parsed.origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout,
      keepAliveMaxTimeout: Math.max(keepAliveTimeout, 600_000),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: connectTimeoutMs },
    })
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream, application/json' }
  for (const [k, v] of Object.entries(options.headers ?? {})) headers[k.toLowerCase()] = v
  if (options.apiKey) headers['authorization'] = `Bearer ${options.apiKey}`
  const secretNames = new Set(['authorization', 'x-api-key', 'api-key', ...(options.secretHeaders ?? []).map((h) => h.toLowerCase())])
  const secrets = Object.entries(headers).filter(([k]) => secretNames.has(k)).map(([, v]) => v)
  if (options.apiKey) secrets.push(options.apiKey)
  for (const v of [...secrets]) {
    const token = /^bearer\s+(.+)$/i.exec(v)?.[1]
    if (token) secrets.push(token)
  }
  return {
    url: redactUrl(parsed),
    origin: parsed.origin,
    path: parsed.pathname + parsed.search,
    kind: apiKindOf(parsed.pathname),
    headers,
    dispatcher,
    timeoutMs,
    keepAlive,
    secrets: secrets.filter((v) => v.length >= 4),
    preconnect: (count) => (dispatcher instanceof Http1Pool ? dispatcher.preconnect(count) : Promise.resolve(0)),
    close: () => dispatcher.close(),
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
  return endpointUrl.replace(/\/(chat\/)?completions\/?$/, '')
}

/**
 * The first model id of `GET <base>/models`, or undefined when the server does not answer it.
 * Used when no `--model` is given.
 */
export async function firstModelId(endpoint: Endpoint): Promise<string | undefined> {
  const path = baseUrlOf(endpoint.path) + '/models'
  try {
    const { status, body } = await getText(endpoint.dispatcher, path, pick(endpoint.headers, 'authorization'), 10_000)
    if (status !== 200) return undefined
    const json = JSON.parse(body) as { data?: { id?: unknown }[] }
    const id = json.data?.[0]?.id
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}

/** A GET through the endpoint's dispatcher: its status and body text. Rejects on failure or after `timeoutMs`. */
function getText(dispatcher: RequestDispatcher, path: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0
    const parts: Buffer[] = []
    let controller: { abort(reason: Error): void } | undefined
    const timer = setTimeout(() => controller?.abort(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs)
    dispatcher.dispatch({ path, method: 'GET', headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, {
      onRequestStart: (c) => {
        controller = c
      },
      onResponseStart: (_c, statusCode) => {
        status = statusCode
      },
      // Copied: a chunk is only valid during the call.
      onResponseData: (_c, chunk) => {
        parts.push(Buffer.from(chunk))
      },
      onResponseEnd: () => {
        clearTimeout(timer)
        resolve({ status, body: Buffer.concat(parts).toString('utf8') })
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

/** `text` with every secret value replaced by `[redacted]`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]')
  return out
}
