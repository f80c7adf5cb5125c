import type { ErrorKind } from '../types.ts'

/** A failure decided by the client itself while reading a response. */
export class RequestFailure extends Error {
  override readonly name = 'RequestFailure'
  readonly kind: ErrorKind
  constructor(kind: ErrorKind, message: string) {
    super(message)
    this.kind = kind
  }
}

const byCode: Record<string, ErrorKind> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'server_disconnected',
  EPIPE: 'server_disconnected',
  UND_ERR_SOCKET: 'server_disconnected',
  UND_ERR_CLOSED: 'server_disconnected',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  ETIMEDOUT: 'timeout',
  ENOTFOUND: 'dns_failed',
  EAI_AGAIN: 'dns_failed',
  EAI_NONAME: 'dns_failed',
  EHOSTUNREACH: 'connection_refused',
  // The client's own resources, not the server's fault.
  EMFILE: 'client_error',
  ENFILE: 'client_error',
  EADDRNOTAVAIL: 'client_error',
  ENOBUFS: 'client_error',
  ENETUNREACH: 'connection_refused',
}

/** Maps any thrown error (undici, network, our own) to an error kind and a one-line message. */
export function classifyError(error: unknown, url: string): { kind: ErrorKind; message: string } {
  if (error instanceof RequestFailure) return { kind: error.kind, message: error.message }
  const err = error as { code?: string; name?: string; message?: string; cause?: unknown; errors?: unknown[] }
  const code = err?.code ?? (err?.cause as { code?: string } | undefined)?.code
    ?? (err?.errors?.[0] as { code?: string } | undefined)?.code
  const kind: ErrorKind = (code ? byCode[code] : undefined)
    // undici's HTTP parser (llhttp) names what it could not parse HPE_*: not HTTP, not a disconnect.
    ?? (code?.startsWith('HPE_') || err?.name === 'HTTPParserError' ? 'protocol_error' : undefined)
    ?? (err?.name === 'TimeoutError' ? 'timeout' : 'other')
  const base = err?.message || String(error)
  switch (kind) {
    case 'connection_refused':
      return { kind, message: `cannot connect to ${url} (${code ?? base})` }
    case 'protocol_error':
      return { kind, message: `the server's answer is not valid HTTP (${code ? `${code}: ` : ''}${base})` }
    case 'client_error':
      return { kind, message: `the client ran out of ${code === 'EADDRNOTAVAIL' ? 'local ports' : 'file descriptors or buffers'} (${code}): raise the limit (ulimit -n), or lower the concurrency; not a server failure` }
    case 'dns_failed':
      return { kind, message: `cannot resolve the host of ${url}: DNS lookup failed (${code}${hostOf(err) ? ` for ${hostOf(err)}` : ''})` }
    case 'server_disconnected':
      return { kind, message: `server disconnected (${code}: ${base})` }
    case 'timeout':
      return { kind, message: `timed out (${code ?? err?.name}: ${base})` }
    default:
      return { kind, message: base }
  }
}

/** The host name a failed DNS lookup names, if any. */
function hostOf(err: { hostname?: unknown; cause?: unknown }): string | undefined {
  const host = err.hostname ?? (err.cause as { hostname?: unknown } | undefined)?.hostname
  return typeof host === 'string' ? host : undefined
}

/** Error kind for a non-2xx HTTP status and its body. */
export function kindOfStatus(status: number, body: string): ErrorKind {
  if (status === 429) return 'rate_limited'
  if (status === 400 && /context length|maximum context|too long|context window/i.test(body)) return 'context_too_long'
  return 'http_error'
}
