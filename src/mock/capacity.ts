/**
 * The mock's saturation rate, computed from its latency model: the highest steady request rate it
 * serves without its waiting queue growing, for requests of a given size. A capacity search against
 * the mock can check its answer against this.
 *
 * The derivation (a fluid model: mean rates, no jitter, evenly spaced arrivals):
 * docs/design/mock.md#saturation
 */

import { type MockServerOptions, resolveMockOptions } from './options.ts'

/** The requests of a steady load on the mock. */
export interface MockWorkload {
  /**
   * Prompt tokens of a request as the mock counts them: its own tokenizer plus its chat template
   * (a role and an end token per message, and the generation prompt: one user message is its content's
   * tokens + 3; a `/v1/completions` prompt is its tokens alone). Take it from the mock's
   * `usage.prompt_tokens` of one such request, not from another tokenizer.
   */
  inputTokens: number
  /** Tokens generated per request (the mock always generates `max_tokens`). */
  outputTokens: number
  /** Share of the prompt served from the prefix cache, 0..1 (e.g. hits / queries of `/metrics`). @default 0 */
  cachedShare?: number
}

/** The mock's saturation point for a workload. Durations in ms (`timeScale` applied). */
export interface MockSaturation {
  /** The highest steady request rate (per second) at which the waiting queue does not grow. */
  requestsPerS: number
  /** `requestsPerS × outputTokens`. */
  outputTokensPerS: number
  /**
   * The rate at which GPU time runs out however many sequences run: 1 / (prefill + marginal decode time
   * per request). `requestsPerS` is below it, and approaches it as `maxNumSeqs` grows.
   */
  gpuRequestsPerS: number
  /** GPU time of one request's prefill: uncached tokens / `prefillTokensPerS`. */
  prefillMs: number
  /** Share of the GPU spent prefilling at saturation. */
  prefillShare: number
  /** Sequences decoding at saturation. */
  batch: number
  /** Sequences admitted (prefilling or decoding) at saturation; `maxNumSeqs` when seats bound it. */
  running: number
  /** Modelled ITL of that batch without stalls: itlMs + itlPerSeqMs × (batch − 1). */
  itlMs: number
  /** Mean time between decode steps at saturation, prefill stalls included: itlMs / (1 − prefillShare). */
  stepMs: number
}

/**
 * The highest steady request rate the mock serves without its waiting queue growing, for requests of
 * `workload.inputTokens` prompt tokens and exactly `workload.outputTokens` generated tokens, from the
 * model of `options` (defaults filled in as `startMockServer` does; jitter ignored). Steady means
 * evenly spaced arrivals; just below the rate, waiting stays bounded, above it, it grows without end.
 * Invalid options throw `InputError`, as `startMockServer` does.
 */
export function mockSaturation(options: MockServerOptions, workload: MockWorkload): MockSaturation {
  const o = resolveMockOptions(options)
  const { inputTokens, outputTokens } = workload
  const cachedShare = workload.cachedShare ?? 0
  if (!(Number.isInteger(inputTokens) && inputTokens >= 1)) throw new RangeError(`inputTokens: expected an integer >= 1, got ${inputTokens}`)
  if (!(Number.isInteger(outputTokens) && outputTokens >= 1)) throw new RangeError(`outputTokens: expected an integer >= 1, got ${outputTokens}`)
  if (!(cachedShare >= 0 && cachedShare <= 1)) throw new RangeError(`cachedShare: expected 0..1, got ${cachedShare}`)

  const s = o.timeScale
  // At least one prompt token is always computed.
  const uncached = Math.max(1, Math.round(inputTokens * (1 - cachedShare)))
  const P = (s * uncached * 1000) / o.prefillTokensPerS
  const B = s * o.baseLatencyMs
  const a = s * o.itlMs
  const b = s * o.itlPerSeqMs
  // Decode steps a sequence spends in the batch after the step that emits its first token.
  const K = Math.ceil((outputTokens - 1) / o.tokensPerChunk)
  const M = o.maxNumSeqs
  // However large the batch, the GPU runs out at this rate: prefill (P per request) and the marginal
  // decode cost of a sequence (b per step, K steps) share it; without stalls they are separate timelines.
  const gpuPerMs = o.prefillStallsDecode ? 1 / (P + K * b) : Math.min(1 / P, 1 / (K * b))

  /** The steady state at `rate` requests/ms, or undefined when the GPU cannot keep up. */
  const steady = (rate: number) => {
    const share = o.prefillStallsDecode ? rate * P : 0
    if (rate * P >= 1) return undefined
    // Decoding sequences n = rate × K × step (Little), step = itl(n) / (1 − share), itl(n) = a + b(n − 1).
    const m = (rate * K) / (1 - share)
    let n: number
    if (m * a <= 1) n = m * a
    else if (m * b >= 1) return undefined
    else n = (m * (a - b)) / (1 - m * b)
    const itl = a + b * Math.max(0, n - 1)
    const step = itl / (1 - share)
    // Seats: decoding, plus prefilling, base latency and (on average) half a step before the first
    // token (none when there is no decoding: a lone first token comes out as soon as it is due).
    const running = n + rate * (P + B + (K > 0 ? step / 2 : 0))
    return { share, n, itl, step, running }
  }

  let rate: number
  if (gpuPerMs === Infinity && a === 0 && B === 0) {
    // Nothing takes time: no finite rate saturates the mock.
    rate = Infinity
  } else {
    // `running` grows with the rate, without bound towards the GPU limit: bisect for running = M.
    let low = 0
    let high = Number.isFinite(gpuPerMs) ? gpuPerMs : 1
    if (!Number.isFinite(gpuPerMs)) while ((steady(high)?.running ?? Infinity) < M) high *= 2
    for (let i = 0; i < 200 && high - low > high * 1e-12; i++) {
      const mid = (low + high) / 2
      const state = steady(mid)
      if (state !== undefined && state.running <= M) low = mid
      else high = mid
    }
    rate = low
  }

  const state = Number.isFinite(rate) ? steady(rate) : undefined
  const requestsPerS = rate * 1000
  return {
    requestsPerS,
    outputTokensPerS: requestsPerS * outputTokens,
    gpuRequestsPerS: gpuPerMs * 1000,
    prefillMs: P,
    prefillShare: state?.share ?? 0,
    batch: state?.n ?? 0,
    running: state?.running ?? 0,
    itlMs: state?.itl ?? a,
    stepMs: state?.step ?? a,
  }
}
