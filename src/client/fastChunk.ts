import type { ChunkInfo } from './openai.ts'

/**
 * A fast path for the one chunk shape that makes up almost every streamed token: a single choice whose
 * delta carries only `content` (or a completion's `text`), written compactly as vLLM, SGLang, OpenAI and
 * the mock write it, optionally followed by `usage`. It reads a handful of fields at known places
 * instead of parsing the whole object; any other shape returns null and goes to JSON.parse. Only
 * exact byte patterns are accepted, so a field name inside a string value can never be mistaken for
 * a key: when in doubt, it declines.
 */
export function fastChunk(json: string): ChunkInfo | null {
  const n = json.length
  // Truncated or non-object data must reach JSON.parse and fail there.
  if (n < 40 || json.charCodeAt(0) !== 0x7b || json.charCodeAt(n - 1) !== 0x7d) return null
  const choices = json.indexOf('"choices":[{"index":0,')
  if (choices < 0) return null
  let at = choices + 22
  let text: string
  const chat = json.startsWith('"delta":{"content":"', at)
  if (chat) at += 20
  else if (json.startsWith('"text":"', at)) at += 8
  else return null
  // The string value: up to the first quote not escaped by an odd run of backslashes. Any escape
  // (\n, \u2028, \") means the slice is decoded by JSON.parse; the common case is a plain slice.
  const start = at
  for (;;) {
    const q = json.indexOf('"', at)
    if (q < 0) return null
    let backslashes = 0
    for (let k = q - 1; k >= start && json.charCodeAt(k) === 0x5c; k--) backslashes++
    if ((backslashes & 1) === 0) {
      const backslash = json.indexOf('\\', start)
      text = backslash >= 0 && backslash < q ? (JSON.parse(json.slice(start - 1, q + 1)) as string) : json.slice(start, q)
      at = q + 1
      break
    }
    at = q + 1
  }
  // A chat delta must close right after its content (no role, reasoning or tool calls beside it).
  if (chat) {
    if (json.charCodeAt(at) !== 0x7d) return null
    at++
  }
  // Then only these may follow inside the choice; anything else (a second choice included) declines.
  if (json.startsWith(',"logprobs":null', at)) at += 16
  let finishReason: string | null
  if (json.startsWith(',"finish_reason":null', at)) {
    finishReason = null
    at += 21
  } else return null
  if (json.startsWith(',"stop_reason":null', at)) at += 19
  if (!json.startsWith('}]', at)) return null
  at += 2
  let promptTokens: number | null = null
  let completionTokens: number | null = null
  if (at === n - 1) return info(text, finishReason, promptTokens, completionTokens)
  // Optional continuous usage, the object's last member.
  if (!json.startsWith(',"usage":{"prompt_tokens":', at)) return null
  at += 26
  const p = readInt(json, at)
  if (p === null) return null
  promptTokens = p.value
  at = p.end
  const total = json.startsWith(',"total_tokens":', at)
  if (total) {
    const t = readInt(json, at + 16)
    if (t === null) return null
    at = t.end
  }
  if (!json.startsWith(',"completion_tokens":', at)) return null
  const c = readInt(json, at + 21)
  if (c === null) return null
  completionTokens = c.value
  at = c.end
  if (!total && json.startsWith(',"total_tokens":', at)) {
    const t = readInt(json, at + 16)
    if (t === null) return null
    at = t.end
  }
  if (!json.startsWith('}}', at) || at + 2 !== n) return null
  return info(text, finishReason, promptTokens, completionTokens)
}

function info(text: string, finishReason: string | null, promptTokens: number | null, completionTokens: number | null): ChunkInfo {
  return { text, hasContent: text.length > 0, finishReason, promptTokens, completionTokens, cachedTokens: null, promptEvaluated: null, errorMessage: null }
}

function readInt(json: string, from: number): { value: number; end: number } | null {
  let value = 0
  let i = from
  for (; i < json.length; i++) {
    const d = json.charCodeAt(i) - 0x30
    if (d < 0 || d > 9) break
    value = value * 10 + d
  }
  return i === from ? null : { value, end: i }
}
