/**
 * A fast path for the one chunk shape that makes up almost every streamed token: a single choice whose
 * delta carries only `content` (or a completion's `text`), written compactly as vLLM, SGLang (with its
 * `"matched_stop":null`), OpenAI and the mock write it, optionally followed by `usage` (continuous usage
 * stats, or OpenAI's `null`). It reads a handful of fields at known places in the raw bytes, without
 * decoding the event to a string or allocating anything; any other shape returns false and goes to
 * JSON.parse. Only exact byte patterns are accepted, so a field name inside a string value can never be
 * mistaken for a key: when in doubt, it declines.
 *
 * Two shapes that end every stream are read too, since at 1,000 streams the ends come together and
 * each JSON.parse there delays the other streams' last chunks: the same choice with `finish_reason`
 * "stop" or "length" (vLLM's finish chunk), and vLLM's usage chunk, `"choices":[]` then only the three
 * token counts. A usage chunk with anything more (`prompt_tokens_details`) still goes to JSON.parse.
 * So is the chunk that opens every vLLM chat stream, a delta of `"role":"assistant"` then `content`,
 * which comes in the same write as the first token: 1,000 of them were parsed in the first-token burst.
 * The role is not read (JSON.parse's path ignores it too).
 *
 * Why: docs/design/timing.md#the-fast-chunk-path
 */

/** What readFastChunk found; one object is reused for every chunk. */
export interface FastChunkFields {
  /** The text value's bytes are `[textStart, textEnd)`, between its quotes. */
  textStart: number
  textEnd: number
  /** The value holds JSON escapes (`\n`, `\"`, `\u00e9`): decode it with JSON.parse. */
  escaped: boolean
  /** From continuous usage stats or a usage chunk; -1 when the chunk has none. */
  promptTokens: number
  completionTokens: number
  /** "stop" or "length" when the chunk finishes the choice, else null. */
  finishReason: 'stop' | 'length' | null
}

export function newFastChunkFields(): FastChunkFields {
  return { textStart: 0, textEnd: 0, escaped: false, promptTokens: -1, completionTokens: -1, finishReason: null }
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')
const CHOICES_KEY = bytes('"choices":')
const FIRST_CHOICE = bytes('[{"index":0,')
const DELTA_CONTENT = bytes('"delta":{"content":"')
const DELTA_ROLE_CONTENT = bytes('"delta":{"role":"assistant","content":"')
const TEXT = bytes('"text":"')
const LOGPROBS_NULL = bytes(',"logprobs":null')
const FINISH_NULL = bytes(',"finish_reason":null')
const FINISH_STOP = bytes(',"finish_reason":"stop"')
const FINISH_LENGTH = bytes(',"finish_reason":"length"')
const NO_CHOICES = bytes('[]')
const STOP_REASON_NULL = bytes(',"stop_reason":null')
const MATCHED_STOP_NULL = bytes(',"matched_stop":null')
const CHOICE_END = bytes('}]')
const USAGE_PROMPT = bytes(',"usage":{"prompt_tokens":')
const TOTAL = bytes(',"total_tokens":')
const COMPLETION = bytes(',"completion_tokens":')
const USAGE_END = bytes('}}')
const USAGE_NULL = bytes(',"usage":null')
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Reads a content-only chunk from the JSON bytes `buf[start, end)` into `out`. Returns false (and
 * leaves `out` meaningless) for any other shape, which must then be parsed in full.
 */
export function readFastChunk(buf: Buffer, start: number, end: number, out: FastChunkFields): boolean {
  // Truncated or non-object data must reach JSON.parse and fail there.
  if (end - start < 40 || buf[start] !== 0x7b || buf[end - 1] !== 0x7d) return false
  // Byte loops rather than Buffer#indexOf: a native call costs more than scanning a hundred bytes here.
  let at = findChoices(buf, start, end)
  if (at === USAGE_ONLY) return readUsage(buf, usageAt, end, out, true)
  if (at < 0) return false
  let chat = true
  if (matches(buf, at, end, DELTA_CONTENT)) at += DELTA_CONTENT.length
  else if (matches(buf, at, end, DELTA_ROLE_CONTENT)) at += DELTA_ROLE_CONTENT.length
  else if (matches(buf, at, end, TEXT)) {
    at += TEXT.length
    chat = false
  } else return false
  // The string value: up to the first quote not escaped by an odd run of backslashes. UTF-8 bytes of
  // other characters are all >= 0x80, so they can never be taken for a quote or a backslash.
  const textStart = at
  for (;;) {
    let q = at
    while (q < end && buf[q] !== QUOTE) q++
    if (q >= end) return false
    let backslashes = 0
    for (let k = q - 1; k >= textStart && buf[k] === BACKSLASH; k--) backslashes++
    if ((backslashes & 1) === 0) {
      out.textEnd = q
      at = q + 1
      break
    }
    at = q + 1
  }
  let escaped = false
  for (let k = textStart; k < out.textEnd; k++) {
    if (buf[k] === BACKSLASH) {
      escaped = true
      break
    }
  }
  out.textStart = textStart
  out.escaped = escaped
  // A chat delta must close right after its content (no reasoning or tool calls beside it).
  if (chat) {
    if (buf[at] !== 0x7d) return false
    at++
  }
  // Then only these may follow inside the choice; anything else (a second choice included) declines.
  if (matches(buf, at, end, LOGPROBS_NULL)) at += LOGPROBS_NULL.length
  if (matches(buf, at, end, FINISH_NULL)) {
    at += FINISH_NULL.length
    out.finishReason = null
  } else if (matches(buf, at, end, FINISH_LENGTH)) {
    at += FINISH_LENGTH.length
    out.finishReason = 'length'
  } else if (matches(buf, at, end, FINISH_STOP)) {
    at += FINISH_STOP.length
    out.finishReason = 'stop'
  } else {
    return false
  }
  if (matches(buf, at, end, STOP_REASON_NULL)) at += STOP_REASON_NULL.length
  // SGLang writes it in every choice.
  if (matches(buf, at, end, MATCHED_STOP_NULL)) at += MATCHED_STOP_NULL.length
  if (!matches(buf, at, end, CHOICE_END)) return false
  return readUsage(buf, at + CHOICE_END.length, end, out, false)
}

/**
 * What may follow the choices, from `from` to the object's end: nothing, OpenAI's `"usage":null`, or
 * usage with the three token counts as its only members (`required`: the usage chunk, which has them).
 */
function readUsage(buf: Buffer, from: number, end: number, out: FastChunkFields, required: boolean): boolean {
  let at = from
  out.promptTokens = -1
  out.completionTokens = -1
  if (required) {
    out.textStart = 0
    out.textEnd = 0
    out.escaped = false
    out.finishReason = null
  } else {
    if (at === end - 1) return true
    // OpenAI, asked for usage, writes `"usage":null` into every chunk but the last.
    if (matches(buf, at, end, USAGE_NULL) && at + USAGE_NULL.length === end - 1) return true
  }
  // Continuous usage, or the usage chunk's: the object's last member.
  if (!matches(buf, at, end, USAGE_PROMPT)) return false
  at = readInt(buf, at + USAGE_PROMPT.length, end)
  if (at < 0) return false
  out.promptTokens = intValue
  const total = matches(buf, at, end, TOTAL)
  if (total) {
    at = readInt(buf, at + TOTAL.length, end)
    if (at < 0) return false
  }
  if (!matches(buf, at, end, COMPLETION)) return false
  at = readInt(buf, at + COMPLETION.length, end)
  if (at < 0) return false
  out.completionTokens = intValue
  if (!total && matches(buf, at, end, TOTAL)) {
    at = readInt(buf, at + TOTAL.length, end)
    if (at < 0) return false
  }
  return matches(buf, at, end, USAGE_END) && at + USAGE_END.length === end
}

/** findChoices() found `"choices":[]`; the members after it begin at `usageAt`. */
const USAGE_ONLY = -2
let usageAt = 0

/**
 * Where the first choice's members begin: just after `"choices":[{"index":0,`; USAGE_ONLY for
 * `"choices":[]` (setting usageAt); -1 if absent.
 */
function findChoices(buf: Buffer, start: number, end: number): number {
  const keyLength = CHOICES_KEY.length
  for (let i = start + keyLength; i < end; i++) {
    // The first `[` after the key; a `[` inside an earlier string value fails the key check and the search goes on.
    if (buf[i] === 0x5b && matches(buf, i - keyLength, end, CHOICES_KEY)) {
      if (matches(buf, i, end, FIRST_CHOICE)) return i + FIRST_CHOICE.length
      if (!matches(buf, i, end, NO_CHOICES)) return -1
      usageAt = i + NO_CHOICES.length
      return USAGE_ONLY
    }
  }
  return -1
}

/** `buf[at, at + pattern.length)` equals `pattern`, within `end`. */
function matches(buf: Buffer, at: number, end: number, pattern: Buffer): boolean {
  const n = pattern.length
  if (at + n > end) return false
  for (let i = 0; i < n; i++) if (buf[at + i] !== pattern[i]) return false
  return true
}

/** The value read by the last readInt (a module variable, so reading a number allocates nothing). */
let intValue = 0

/** Reads decimal digits from `from`: their value into intValue; returns the end, or -1 without digits. */
function readInt(buf: Buffer, from: number, end: number): number {
  let value = 0
  let i = from
  for (; i < end; i++) {
    const d = (buf[i] as number) - 0x30
    if (d < 0 || d > 9) break
    value = value * 10 + d
  }
  intValue = value
  return i === from || i - from > 15 ? -1 : i
}
