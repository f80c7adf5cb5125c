import { readFileSync } from 'node:fs'
import { InputError } from '../errors.ts'
import { apiEndpointUrl, enterPrecision, firstModelId, openEndpoint, redactUrl, requestContext, sendRequest, warmUpClient } from '../client/index.ts'
import type { ApiKind, Endpoint, RequestContext, RequestMeta } from '../client/index.ts'
import { monitorClientHealth } from '../metrics/index.ts'
import { getTokenizer } from '../tokens/index.ts'
import type { Tokenizer } from '../tokens/index.ts'
import { detectEngine, ENGINES } from '../engines/index.ts'
import type { DetectedEngine } from '../engines/index.ts'
import type { CacheResetOutcome, ChatMessage, ClientSummary, RequestRecord, TransportSummary } from '../types.ts'
import { NO_RESET, resetPrefixCache } from './resetCache.ts'
import type { RunContext, WorkloadSettings } from './options.ts'


/** What every workload shares while it runs: the endpoint, the tokenizer, the seed, the clock. */
export interface OpenRun {
  readonly seed: number
  readonly model: string
  readonly tokenizer: Tokenizer
  readonly endpoint: Endpoint
  /** Endpoint, model, seed and public config, for reports written while the run goes on. */
  readonly context: RunContext
  /** Aborts when the caller's signal does: stop sending. */
  readonly signal: AbortSignal
  /** The serving engine, as named or detected; undefined when unknown. */
  readonly engine: DetectedEngine | undefined
  /** When the clock started (after the warm-up). */
  readonly startedAt: Date
  /** Right after a burst of sends: precision mode's moment to tidy the heap (nothing when precision is off). */
  afterBurst(): void
  send(messages: readonly ChatMessage[], meta: RequestMeta): Promise<RequestRecord>
  /**
   * Empties the server's prefix cache before a cold round: POSTs `url` when given, else the engine's way
   * when the settings ask for `resetCache`; otherwise does nothing. Never throws: a refusal is a notice,
   * and the outcome (recorded with the round) carries the server's own words.
   */
  resetCache(url?: string): Promise<CacheResetOutcome>
  /**
   * Warns when the run has more distinct prompts than the engine keeps at once (llama.cpp: one per slot),
   * so that a warm round would find evicted prompts.
   */
  checkPromptCapacity(distinctPrompts: number): Promise<void>
  /** How requests travelled (client, keep-alive, proxy, TLS, connections opened and reused). */
  transport(): TransportSummary
  /** Closes the connections, undoes precision mode's changes, and says how the client fared. Idempotent. */
  close(): Promise<ClientSummary>
}

/**
 * Opens the endpoint (pool sized to `wanted` connections), resolves the model, enters the precision mode,
 * sends the warm-up requests and opens the connections before the clock starts. `notice` hears about
 * connections the server refused, a warm-up that failed, a precision change refused.
 */
export async function openRun(settings: WorkloadSettings, seed: number, wanted: number, notice?: (message: string) => void): Promise<OpenRun> {
  const cap = Math.min(connectionCap(), settings.maxConnections ?? Infinity)
  const connections = Math.max(1, Math.min(wanted, cap))
  if (connections < wanted) notice?.(`${wanted.toLocaleString('en-US')} concurrent streams need more sockets than this process may open (ulimit -n${settings.maxConnections !== undefined ? ', shared with the built-in mock' : ''}); ${connections.toLocaleString('en-US')} connections are used and the other requests wait for one (their wait is reported as queuedMs). Raise the limit with ulimit -n`)
  const tokenizer = await getTokenizer(settings.tokenizer)
  const endpoint = openEndpoint({
    // `api` switches the endpoint's path (the workload functions resolved it already; run* functions get it here).
    url: settings.api === undefined ? settings.endpoint : apiEndpointUrl(settings.endpoint, notice ?? (() => undefined), 'endpoint', settings.api),
    apiKey: apiKeyOf(settings),
    headers: settings.headers ?? {},
    connections,
    timeoutMs: (settings.timeout ?? 300) * 1000,
    keepAlive: settings.keepAlive ?? true,
    keepAliveTimeoutMs: settings.keepAliveTimeout === undefined ? undefined : settings.keepAliveTimeout * 1000,
    proxy: settings.proxy,
    caFile: settings.caFile,
    insecure: settings.insecure,
    secretHeaders: settings.secretHeaders,
  })
  const model = settings.model ?? (await firstModelId(endpoint)) ?? 'default'
  const engine: DetectedEngine | undefined = settings.engine && settings.engine !== 'auto'
    ? { name: settings.engine, evidence: '--engine' }
    : await detectEngine(endpoint)
  if (settings.resetCache && !settings.resetCacheUrl && engine === undefined) notice?.('resetCache: the serving engine is unknown (name it with --engine vllm|sglang|llamacpp|tgi|ollama), so its cache cannot be emptied')
  const signal = settings.signal ?? new AbortController().signal
  const cutInFlight = graceAfter(signal, settings.inFlightGraceMs ?? 5000)
  const ctx = requestContext(endpoint, {
    model,
    maxTokens: settings.maxOutputTokens,
    temperature: settings.temperature,
    topP: settings.topP,
    stream: settings.stream ?? true,
    continuousUsageStats: settings.continuousUsageStats ?? true,
    ignoreEos: settings.ignoreEos,
    reasoningTags: settings.reasoningTags,
  }, tokenizer, { retries: settings.retries ?? 0, signal: cutInFlight })
  // Precision mode (off unless asked): process tuning for exact timestamps, undone by close().
  const precision = await enterPrecision({ mode: settings.precision ?? 'off', context: ctx, kind: endpoint.kind, notice })
  // One line says what precision mode changed in the process, or what it could not: silent when it changed nothing.
  if (precision.active || precision.summary().refused.length > 0) notice?.(precision.describe())
  // The client's own code compiled before the clock (precision mode does this itself, under its V8 flags).
  const warmedHere = !precision.active && wantsWarmClient(settings.warmClient) && (await warmClient(ctx, endpoint.kind, notice))
  const warmupRequests = await warmUp(settings.warmup ?? 0, (messages, meta) => sendRequest(ctx, messages, meta), signal, notice)
  // TCP set-up for every stream now rather than among the first measured responses; TTFT never
  // included it (a request's clock starts on its connection), but a burst of connects delays reads.
  if (endpoint.keepAlive) {
    const open = await endpoint.preconnect(connections)
    if (open > 0 && open < connections) notice?.(`the server accepted ${open} of ${connections} connections before the run; the others open as requests need them`)
  }
  await precision.beforeClock()
  const startedAt = new Date()
  const health = monitorClientHealth()
  let closed: Promise<ClientSummary> | undefined
  // The API the requests spoke is part of what was measured, whether `api` or the endpoint's path chose it.
  const config = { ...publicConfig(settings), api: endpoint.kind }
  return {
    startedAt,
    transport: () => endpoint.transport(),
    afterBurst: () => precision.afterBurst(),
    context: { endpoint: endpoint.url, model, seed, config },
    seed,
    model,
    tokenizer,
    endpoint,
    signal,
    send: (messages, meta) => sendRequest(ctx, messages, meta),
    engine,
    async resetCache(url = settings.resetCacheUrl) {
      if (url) return resetPrefixCache(url, notice)
      if (!settings.resetCache || engine === undefined) return NO_RESET
      const outcome = await ENGINES[engine.name].resetCache(endpoint)
      if (!outcome.ok) notice?.(`cache reset (${ENGINES[engine.name].title}) failed: ${outcome.message}; the cold round may not be cold`)
      return outcome
    },
    async checkPromptCapacity(distinctPrompts) {
      const adapter = engine && ENGINES[engine.name]
      const capacity = await adapter?.promptCapacity?.(endpoint)
      if (adapter && capacity !== undefined && distinctPrompts > capacity) {
        notice?.(`${adapter.title} keeps one prompt per slot, and the run has ${distinctPrompts} distinct prompts for ${capacity} slots: they evict each other, so a warm round finds little cached. Start the server with --parallel ${distinctPrompts} or more, or sample at most ${capacity} prompts`)
      }
    },
    close() {
      return (closed ??= (async () => {
        const client = health.stop()
        await endpoint.close().catch(() => undefined)
        await precision.dispose()
        return { ...client, precision: precision.summary(), warmedUp: precision.active ? precision.warmedUp : warmedHere, warmupRequests }
      })())
    },
  }
}

/**
 * Sends `n` warm-up requests, one at a time, before the clock starts; none is counted. Their prompts are
 * fluxperf's own (`warm-up request k`), so they share no prefix with the workload's and warm no cache entry a
 * cold round would then find. Failures are reported, not fatal: the run goes on.
 * @returns how many were sent
 */
async function warmUp(n: number, send: (messages: ChatMessage[], meta: RequestMeta) => Promise<RequestRecord>, signal: AbortSignal, notice?: (message: string) => void): Promise<number> {
  let failed: RequestRecord | undefined
  let failures = 0
  let sent = 0
  for (; sent < n && !signal.aborted; sent++) {
    const messages: ChatMessage[] = [{ role: 'user', content: `fluxperf warm-up request ${sent + 1} of ${n}: reply with one short sentence.` }]
    const record = await send(messages, { id: `warmup-${sent}`, index: sent, sessionId: 'warm-up', turnIndex: 0, round: 0, concurrency: 1 })
    if (!record.ok) {
      failures++
      failed ??= record
    }
  }
  if (failed) notice?.(`warm-up: ${failures} of ${sent} requests failed (first: ${failed.error?.kind}: ${failed.error?.message}); the run goes on`)
  return sent
}

/** `warmClient` as given, else true unless FLUXPERF_NO_WARM_CLIENT=1 (a test suite's many short runs). */
export function wantsWarmClient(given: boolean | undefined): boolean {
  return given ?? process.env['FLUXPERF_NO_WARM_CLIENT'] !== '1'
}

/**
 * warmUpClient() with the run's request context; true when it went through. A failure is a notice, never the run's
 * end: the run is measured as it would have been without the warm-up.
 */
async function warmClient(ctx: RequestContext, kind: ApiKind, notice: ((message: string) => void) | undefined): Promise<boolean> {
  try {
    await warmUpClient(kind, ctx)
    return true
  } catch (error) {
    notice?.(`the client warm-up over loopback failed (${(error as Error).message}): the first round's first tokens may be read by code not yet compiled`)
    return false
  }
}

/** Settings as saved in results: no API key, header values replaced, no live objects. */
export function publicConfig(settings: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(settings)) {
    // Precision and warm-up are recorded with their outcome under `client`, not twice.
    if (key === 'apiKey' || key === 'signal' || key === 'hooks' || key === 'precision' || key === 'warmClient' || key === 'warmup' || typeof value === 'function') continue
    if (key === 'headers' && value && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.keys(value).map((h) => [h, '[redacted]']))
    } else if (typeof value === 'string' && /^https?:\/\/[^/?#]*@/i.test(value)) {
      // A URL's user:password (endpoint, proxy, reset URL) is a secret too.
      out[key] = redactUrl(new URL(value))
    } else if (key === 'dataset' && Array.isArray(value)) {
      out[key] = `${value.length} conversations`
    } else {
      out[key] = value
    }
  }
  return out
}

/** A signal that aborts `graceMs` after `signal` does. */
function graceAfter(signal: AbortSignal, graceMs: number): AbortSignal {
  const controller = new AbortController()
  const arm = (): void => {
    setTimeout(() => controller.abort(), graceMs).unref()
  }
  if (signal.aborted) arm()
  else signal.addEventListener('abort', arm, { once: true })
  return controller.signal
}

/** File descriptors kept free for everything else a run opens (report files, scrapes, the mock). */
const FD_RESERVE = 64

/**
 * Most connections this process can open: the soft limit on open files (Linux: /proc/self/limits) less a
 * reserve; unbounded where the limit cannot be read.
 */
export function connectionCap(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8')
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1]
    if (soft === undefined || soft === 'unlimited') return Infinity
    return Math.max(1, Number(soft) - FD_RESERVE)
  } catch {
    return Infinity
  }
}

/**
 * The key to send as `Authorization: Bearer`: `apiKey`, else `$OPENAI_API_KEY` unless the headers carry
 * their own Authorization (which then wins). Both an `apiKey` and an Authorization header is refused:
 * one would silently replace the other.
 */
function apiKeyOf(settings: WorkloadSettings): string | undefined {
  const ownAuthorization = Object.keys(settings.headers ?? {}).some((h) => h.toLowerCase() === 'authorization')
  if (settings.apiKey && ownAuthorization) throw new InputError('give either --api-key or --header \'Authorization: ...\', not both', '--api-key')
  return settings.apiKey ?? (ownAuthorization ? undefined : process.env['OPENAI_API_KEY'])
}
