/**
 * Scraping a Prometheus exposition endpoint (undici) and sampling it around rounds and requests.
 * A failed scrape is counted and reported; it never throws into the run.
 */

import { performance } from 'node:perf_hooks'
import { undici } from '../lazyRequire.ts'
import { printable } from '../printable.ts'
import type { PrometheusRoundSummary } from '../types.ts'
import { DEFAULT_METRICS, increase, readSelected, summariseSamples } from './prometheus.ts'
import type { PrometheusOptions, Reading } from './prometheus.ts'
import { parseSelector } from './prometheusSelector.ts'
import type { MetricSelector } from './prometheusSelector.ts'
import { ExpositionFormatError, parseExposition } from './prometheusText.ts'
import type { Exposition } from './prometheusText.ts'

/** Why a scrape failed. */
export type ScrapeFailureKind = 'connection' | 'timeout' | 'status' | 'format' | 'too_large'

export type ScrapeResult =
  | { ok: true; at: number; exposition: Exposition; contentType: string }
  | { ok: false; at: number; kind: ScrapeFailureKind; error: string }

/** The largest exposition read: 64 MB (a vLLM /metrics is well under 1 MB). */
const MAX_BODY_BYTES = 64 * 1024 * 1024
const ACCEPT = 'text/plain;version=0.0.4;q=0.9,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1'

/** Fetches and parses one exposition. Never throws: failures are returned with a one-line reason. */
export async function scrape(url: string, timeoutMs = 5000): Promise<ScrapeResult> {
  const failed = (kind: ScrapeFailureKind, error: string): ScrapeResult => ({ ok: false, at: performance.now(), kind, error })
  let res
  try {
    res = await undici().request(url, { method: 'GET', headers: { accept: ACCEPT }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) })
  } catch (error) {
    return connectionFailure(url, error, timeoutMs)
  }
  const contentType = String(res.headers['content-type'] ?? '')
  let text = ''
  try {
    const chunks: Buffer[] = []
    let bytes = 0
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      bytes += chunk.length
      if (bytes > MAX_BODY_BYTES) {
        res.body.destroy()
        return failed('too_large', `${url} answered more than ${MAX_BODY_BYTES / (1024 * 1024)} MB; is it an exposition endpoint?`)
      }
      chunks.push(chunk)
    }
    text = Buffer.concat(chunks).toString('utf8')
  } catch (error) {
    return connectionFailure(url, error, timeoutMs)
  }
  if (res.statusCode !== 200) {
    const body = printable(text.replace(/\s+/g, ' ').trim().slice(0, 160))
    return failed('status', `${url} answered HTTP ${res.statusCode}${body ? ` (${body})` : ''}; expected 200 with the Prometheus text format`)
  }
  if (/json|html/i.test(contentType)) {
    const hint = /json/i.test(contentType)
      ? ' (a query API such as /api/v1/query is not what fluxperf reads: give the target\'s own /metrics, e.g. http://host:8000/metrics)'
      : ' (a web page: give the exposition URL, usually <server>/metrics)'
    return failed('format', `${url} answered ${contentType.split(';')[0]}, not the Prometheus text format${hint}`)
  }
  try {
    return { ok: true, at: performance.now(), exposition: parseExposition(text), contentType }
  } catch (error) {
    if (error instanceof ExpositionFormatError) return failed('format', `${url} did not answer the Prometheus text format: ${error.message}`)
    throw error
  }
}

function connectionFailure(url: string, error: unknown, timeoutMs: number): ScrapeResult {
  const err = error as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } }
  const code = err.code ?? err.cause?.code
  const at = performance.now()
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || /TIMEOUT/.test(code ?? '')) {
    return { ok: false, at, kind: 'timeout', error: `${url} did not answer within ${timeoutMs} ms` }
  }
  if (code === 'ECONNREFUSED') return { ok: false, at, kind: 'connection', error: `connection refused by ${url} (is the server running, and is this its metrics port?)` }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { ok: false, at, kind: 'connection', error: `cannot resolve the host of ${url} (${code})` }
  return { ok: false, at, kind: 'connection', error: `cannot read ${url} (${code ?? err.message ?? String(error)})` }
}

/**
 * Samples a Prometheus endpoint around the rounds of a run:
 * `beforeRound()` → (interval scrapes, or per-request scrapes) → `afterRound()` returns the round's summary.
 * In `round` mode nothing happens per request.
 */
export class PrometheusSampler {
  readonly mode: 'round' | 'request'
  readonly #url: string
  readonly #selectors: MetricSelector[]
  readonly #requested: string[] | undefined
  readonly #intervalMs: number
  readonly #timeoutMs: number
  readonly #notice: ((message: string) => void) | undefined
  #readings: Reading[] = []
  #failed = 0
  #firstError: string | undefined
  #perRequest = new Map<string, number[]>()
  #timer: NodeJS.Timeout | undefined
  #inFlight: Promise<void> | undefined
  #warned = false
  /** The defaults were checked against a first successful scrape. */
  #checkedDefaults = false

  /** @throws InputError for a malformed selector. */
  constructor(options: PrometheusOptions, notice?: (message: string) => void) {
    this.mode = options.mode ?? 'round'
    this.#url = options.url
    this.#selectors = (options.metrics && options.metrics.length > 0 ? options.metrics : DEFAULT_METRICS).map((m) => parseSelector(m))
    this.#requested = options.metrics && options.metrics.length > 0 ? this.#selectors.map((s) => s.text) : undefined
    this.#intervalMs = Math.max(100, (options.intervalS ?? 5) * 1000)
    this.#timeoutMs = options.timeoutMs ?? 5000
    this.#notice = notice
  }

  /** Scrapes once before the round and, in `round` mode, starts the interval scrapes. */
  async beforeRound(): Promise<void> {
    this.#readings = []
    this.#failed = 0
    this.#firstError = undefined
    this.#perRequest = new Map()
    await this.#sample()
    if (this.mode === 'round') {
      this.#timer = setInterval(() => {
        this.#inFlight ??= this.#sample().then(() => {
          this.#inFlight = undefined
        })
      }, this.#intervalMs)
      this.#timer.unref()
    }
  }

  /** Stops the interval scrapes, scrapes once more and summarises the round. */
  async afterRound(): Promise<PrometheusRoundSummary> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#inFlight
    await this.#sample()
    const summary = summariseSamples({
      readings: this.#readings,
      failedScrapes: this.#failed,
      firstScrapeError: this.#firstError,
      perRequest: this.mode === 'request' ? this.#perRequest : undefined,
      requested: this.#requested,
    })
    if (summary.firstScrapeError === undefined) delete summary.firstScrapeError
    return summary
  }

  /** Request mode: the scrape before a request (pass it to {@link afterRequest}). */
  async beforeRequest(): Promise<Reading | undefined> {
    return this.#sample()
  }

  /** Request mode: the scrape after a request; records each counter's increase over the request. */
  async afterRequest(before: Reading | undefined): Promise<void> {
    const after = await this.#sample()
    if (!before || !after) return
    for (const [key, value] of after.counters) {
      const prev = before.counters.get(key)
      if (prev === undefined) continue
      let list = this.#perRequest.get(key)
      if (!list) this.#perRequest.set(key, (list = []))
      list.push(increase([prev, value]))
    }
  }

  /** Stops the interval scrapes (for a run that ends early). */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  async #sample(): Promise<Reading | undefined> {
    const result = await scrape(this.#url, this.#timeoutMs)
    if (!result.ok) {
      this.#failed++
      this.#firstError ??= result.error
      if (!this.#warned) {
        this.#warned = true
        this.#notice?.(`Prometheus scrape failed: ${result.error}; the run goes on and reports failed scrapes`)
      }
      return undefined
    }
    const reading = readSelected(result.exposition, this.#selectors, result.at)
    if (!this.#checkedDefaults && this.#requested === undefined) {
      this.#checkedDefaults = true
      if (reading.unmatched.length === this.#selectors.length) this.#notice?.(noDefaultsNotice(this.#url, result.exposition))
    }
    this.#readings.push(reading)
    return reading
  }
}

/** Most metric names listed when none of the defaults is exposed. */
const LISTED_FAMILIES = 25

/**
 * None of the known engines' metrics is at `url`: says so, and names what is there, so that the user can
 * pick with `--prometheus-metrics` instead of reading an empty section.
 */
export function noDefaultsNotice(url: string, exposition: Exposition): string {
  const names = [...exposition.families.keys()].sort()
  const listed = names.slice(0, LISTED_FAMILIES).join(', ')
  const more = names.length > LISTED_FAMILIES ? `, and ${names.length - LISTED_FAMILIES} more (fluxperf prometheus check ${url})` : ''
  return names.length === 0
    ? `${url} exposes no metrics at all; the Prometheus section will be empty`
    : `none of the default metrics (vLLM, SGLang, llama.cpp, TGI) is exposed at ${url}; it has ${names.length}: ${listed}${more}. Choose with --prometheus-metrics <name...>`
}
