/**
 * Fault injection. One directive language serves the `x-mock-fault` request header, the `fault`
 * option and the `--fault` flag:
 *
 *   status=503          answer with this status and an OpenAI-style error body (429 adds Retry-After)
 *   retry-after=2       the Retry-After seconds of that 429
 *   stall=300           pause 300 ms before the first byte (before the response headers)
 *   stall=300@5         pause 300 ms mid-stream, after the 5th generated token
 *   drop-after=5        destroy the connection after 5 generated tokens (no [DONE], no end)
 *   malformed-after=5   after 5 tokens, send one chunk whose JSON is cut short (the stream goes on)
 *   no-done             end the stream normally but without its terminal event: `data: [DONE]`
 *                       (chat, completions) or `response.completed` (the Responses API)
 *
 * Directives are separated by commas, semicolons or spaces: `x-mock-fault: stall=200@3, drop-after=8`.
 */

/** The faults one request gets. Absent fields mean no such fault. */
export interface FaultPlan {
  status?: number
  retryAfterS?: number
  stallFirstByteMs?: number
  stallMs?: number
  stallAfterTokens?: number
  dropAfterTokens?: number
  malformedAfterTokens?: number
  noDone?: boolean
}

const NO_FAULTS: FaultPlan = Object.freeze({})

function nonNegativeInt(name: string, text: string | undefined, max = Number.MAX_SAFE_INTEGER): number {
  const value = text === undefined || text === '' ? NaN : Number(text)
  if (!Number.isInteger(value) || value < 0 || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? 'a whole number' : `an integer from 0 to ${max}`
    throw new Error(`fault "${name}" expects ${range}, got ${JSON.stringify(text ?? '')}`)
  }
  return value
}

/** Parses fault directives; throws an Error whose message names the bad directive. */
export function parseFaults(spec: string | undefined): FaultPlan {
  if (spec === undefined || spec.trim() === '') return NO_FAULTS
  const plan: FaultPlan = {}
  for (const part of spec.split(/[\s,;]+/)) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const name = (eq < 0 ? part : part.slice(0, eq)).toLowerCase()
    const value = eq < 0 ? undefined : part.slice(eq + 1)
    switch (name) {
      case 'status': {
        const status = nonNegativeInt(name, value, 599)
        if (status < 400) throw new Error(`fault "status" expects an error status from 400 to 599, got ${value}`)
        plan.status = status
        break
      }
      case 'retry-after':
        plan.retryAfterS = nonNegativeInt(name, value, 86400)
        break
      case 'stall': {
        const [ms, after] = (value ?? '').split('@')
        if (after === undefined) plan.stallFirstByteMs = nonNegativeInt(name, ms)
        else {
          plan.stallMs = nonNegativeInt(name, ms)
          plan.stallAfterTokens = Math.max(1, nonNegativeInt('stall …@tokens', after))
        }
        break
      }
      case 'drop-after':
        plan.dropAfterTokens = nonNegativeInt(name, value)
        break
      case 'malformed-after':
        plan.malformedAfterTokens = nonNegativeInt(name, value)
        break
      case 'no-done':
        if (value !== undefined) throw new Error('fault "no-done" takes no value')
        plan.noDone = true
        break
      default:
        throw new Error(
          `unknown fault "${name}" (expected status=, retry-after=, stall=, drop-after=, malformed-after=, no-done)`,
        )
    }
  }
  return plan
}

/** Both plans; `extra` wins where both set a field (the request header over the server option). */
export function mergeFaults(base: FaultPlan, extra: FaultPlan): FaultPlan {
  if (extra === NO_FAULTS) return base
  if (base === NO_FAULTS) return extra
  return { ...base, ...extra }
}

export function isNoFaults(plan: FaultPlan): boolean {
  return plan === NO_FAULTS || Object.keys(plan).length === 0
}

/**
 * A token bucket: `rate` requests per second sustained, bursts up to `rate` (at least 1).
 * `take` returns 0 when the request may pass, else the seconds until it would.
 */
export class RateLimiter {
  readonly #rate: number
  readonly #burst: number
  #tokens: number
  #updatedAt: number

  constructor(ratePerS: number, now: number) {
    this.#rate = ratePerS
    this.#burst = Math.max(1, ratePerS)
    this.#tokens = this.#burst
    this.#updatedAt = now
  }

  take(now: number): number {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#rate)
    this.#updatedAt = now
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return 0
    }
    return (1 - this.#tokens) / this.#rate
  }
}
