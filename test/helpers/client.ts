import { openEndpoint, requestContext, sendRequest } from '../../src/client/index.ts'
import type { Endpoint, GenerationOptions, RequestContext } from '../../src/client/index.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import type { ChatMessage, RequestRecord } from '../../src/types.ts'

const tokenizer = await getTokenizer()

/** A request context for `url` with the given overrides (pool of `connections`). */
export function contextFor(url: string, overrides: Partial<Omit<RequestContext, 'generation'>> & { generation?: Partial<GenerationOptions>; apiKey?: string } = {}): { ctx: RequestContext; endpoint: Endpoint } {
  const { headers: _headers, apiKey: _key, generation, ...rest } = overrides
  const endpoint = openEndpoint({ url, connections: 4, timeoutMs: overrides.timeoutMs ?? 10_000, apiKey: overrides.apiKey, headers: overrides.headers })
  const ctx: RequestContext = { ...requestContext(endpoint, { model: 'mock-llm', maxTokens: 8, ...generation }, tokenizer), ...rest }
  return { ctx, endpoint }
}

let n = 0
/** Sends one user message and returns its record. */
export function send(ctx: RequestContext, content: string | ChatMessage[]): Promise<RequestRecord> {
  const messages = typeof content === 'string' ? [{ role: 'user' as const, content }] : content
  const i = n++
  return sendRequest(ctx, messages, { id: `t${i}`, index: i, sessionId: 's', turnIndex: 0, round: 1, concurrency: 1 })
}
