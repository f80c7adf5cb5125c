import { request as undiciRequest } from 'undici'

/**
 * POSTs `url` to empty the server's prefix cache (vLLM's `/reset_prefix_cache`, the mock's). Never
 * throws: a failure becomes a notice, since the run can go on (only less cold).
 */
export async function resetPrefixCache(url: string, notice?: (message: string) => void): Promise<boolean> {
  try {
    const res = await undiciRequest(url, { method: 'POST', headersTimeout: 10_000, bodyTimeout: 10_000 })
    await res.body.dump()
    if (res.statusCode < 300) return true
    notice?.(`cache reset at ${url} answered HTTP ${res.statusCode}; the first requests may not be cold`)
  } catch (error) {
    notice?.(`cache reset at ${url} failed (${(error as Error).message}); the first requests may not be cold`)
  }
  return false
}
