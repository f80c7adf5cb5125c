/** Small clients for the mock tests: POST JSON, read an SSE body with arrival times. */

import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer, MockServerOptions } from '../../src/mock/index.ts'

/** Fast, jitter-free timings for tests that do not measure anything. */
export const FAST: MockServerOptions = {
  prefillTokensPerS: 1_000_000,
  baseLatencyMs: 0,
  itlMs: 0.2,
  itlPerSeqMs: 0,
  jitter: 0,
}

const servers = new Set<MockServer>()

/** Starts a mock on 127.0.0.1:0; `closeAll` (in afterEach) closes it. */
export async function start(options: MockServerOptions = {}): Promise<MockServer> {
  const server = await startMockServer({ ...FAST, ...options })
  servers.add(server)
  return server
}

export async function closeAll(): Promise<void> {
  await Promise.all([...servers].map((server) => server.close()))
  servers.clear()
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

export interface SseResult {
  status: number
  headers: Headers
  /** `data:` payloads in order, `[DONE]` included. */
  data: string[]
  /** The `event:` name of each payload (the Responses API names its events), or null. */
  events: (string | null)[]
  /** Parsed JSON payloads (null where a payload was not valid JSON). */
  chunks: (Record<string, any> | null)[]
  /** ms from the request start to each `data:` payload. */
  at: number[]
  /** ms from the request start to the first payload carrying content, reasoning or text. */
  ttftMs: number | null
  done: boolean
  /** Concatenated content (chat), text (completions) or output text deltas (Responses). */
  text: string
  /** Concatenated `reasoning_content` or `reasoning` deltas (chat), or reasoning text deltas (Responses). */
  reasoning: string
  /** The stream ended with an error (connection dropped). */
  error?: Error
}

/** POSTs a streaming request and reads the SSE body to its end. */
export async function stream(url: string, body: unknown, headers: Record<string, string> = {}): Promise<SseResult> {
  const started = performance.now()
  const res = await post(url, body, headers)
  const result: SseResult = {
    status: res.status,
    headers: res.headers,
    data: [],
    events: [],
    chunks: [],
    at: [],
    ttftMs: null,
    done: false,
    text: '',
    reasoning: '',
  }
  if (!res.body) return result
  const decoder = new TextDecoder()
  let buffer = ''
  const reader = res.body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      const now = performance.now() - started
      buffer += decoder.decode(value, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        let name: string | null = null
        for (const line of event.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7)
          if (!line.startsWith('data: ')) continue
          const payload = line.slice(6)
          result.data.push(payload)
          result.events.push(name)
          result.at.push(now)
          if (payload === '[DONE]') {
            result.done = true
            result.chunks.push(null)
            continue
          }
          let chunk: Record<string, any> | null = null
          try {
            chunk = JSON.parse(payload)
          } catch {}
          result.chunks.push(chunk)
          const choice = chunk?.choices?.[0]
          const type: unknown = chunk?.type
          const content: string =
            (type === 'response.output_text.delta' ? chunk!.delta : undefined) ?? choice?.delta?.content ?? choice?.text ?? ''
          const reasoning: string =
            (type === 'response.reasoning_text.delta' ? chunk!.delta : undefined) ??
            choice?.delta?.reasoning_content ??
            choice?.delta?.reasoning ??
            ''
          result.text += content
          result.reasoning += reasoning
          if ((content !== '' || reasoning !== '') && result.ttftMs === null) result.ttftMs = now
        }
      }
    }
  } catch (error) {
    result.error = error as Error
  }
  return result
}

/** The parsed JSON chunks of a stream (without [DONE] and malformed payloads). */
export function jsonChunks(result: SseResult): Record<string, any>[] {
  return result.chunks.filter((c): c is Record<string, any> => c !== null)
}

/** The final usage chunk of a stream. */
export function usageOf(result: SseResult): Record<string, any> | undefined {
  return jsonChunks(result).find((c) => Array.isArray(c.choices) && c.choices.length === 0)?.usage
}

/** A text of exactly `tokens` mock tokens: distinct letter-only words of at most 8 letters. */
export function longText(tokens: number, salt = 'q'): string {
  const words: string[] = []
  for (let i = 0; i < tokens; i++) {
    let word = ''
    let n = i
    do {
      word = String.fromCharCode(97 + (n % 26)) + word
      n = Math.floor(n / 26)
    } while (n > 0)
    words.push(salt + word)
  }
  return words.join(' ')
}
