import { undici } from '../lazyRequire.ts'
import type { CacheResetOutcome } from '../types.ts'

/** What a cold round records when nothing emptied the cache before it. */
export const NO_RESET: CacheResetOutcome = { attempted: false, ok: false }

/**
 * POSTs `url` to empty the server's prefix cache (vLLM's `/reset_prefix_cache`, the mock's) and says how
 * it went, for the cold round's record. Never throws: a failure becomes a notice, since the run can go on
 * (only less cold; the verdicts then look for the server's cached-token counts).
 */
export async function resetPrefixCache(url: string, notice?: (message: string) => void): Promise<CacheResetOutcome> {
  let message: string
  try {
    const res = await undici().request(url, { method: 'POST', headersTimeout: 10_000, bodyTimeout: 10_000 })
    await res.body.dump()
    if (res.statusCode < 300) return { attempted: true, ok: true, url }
    message = `HTTP ${res.statusCode}`
    notice?.(`cache reset at ${url} answered HTTP ${res.statusCode}; the first requests may not be cold`)
  } catch (error) {
    message = (error as Error).message
    notice?.(`cache reset at ${url} failed (${message}); the first requests may not be cold`)
  }
  return { attempted: true, ok: false, url, message }
}
