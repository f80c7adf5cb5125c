/**
 * A JSON.parse error message, shortened for users: V8's `in JSON at position P (line L column C)` is
 * replaced by `at column C` (within a JSONL line) and the echoed input is cut to keep messages short.
 */
export function describeJsonError(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error)
  const text = raw
    .replace(/ in JSON at position \d+ \(line \d+ column (\d+)\)/, ' at column $1')
    .replace(/ in JSON at position (\d+)/, ' at position $1')
  return text.length > 160 ? `${text.slice(0, 157)}...` : text
}

/**
 * Where in a whole-document JSON.parse error the problem is, as a 1-based line of `text`
 * (from V8's `(line L column C)` or `at position P`); 1 when the message does not say.
 */
export function jsonErrorLine(error: unknown, text: string): number {
  const message = error instanceof Error ? error.message : ''
  const line = /\(line (\d+) column \d+\)/.exec(message)
  if (line) return Number(line[1])
  const position = /at position (\d+)/.exec(message)
  if (position) return lineAt(text, Number(position[1]))
  if (/Unexpected end of JSON input/.test(message)) return lineAt(text, text.length)
  return 1
}

/** 1-based line of a character offset in `text`. */
export function lineAt(text: string, offset: number): number {
  let line = 1
  const end = Math.min(offset, text.length)
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) line++
  return line
}

/**
 * Start offsets of the top-level elements of a JSON array document that is already known to be valid
 * JSON (JSON.parse succeeded), so that each element can be given the line it starts on.
 */
export function arrayElementOffsets(text: string): number[] {
  const offsets: number[] = []
  let depth = 0
  let inString = false
  let expectElement = false
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (inString) {
      if (ch === 0x5c) i++ // backslash: skip the escaped character
      else if (ch === 0x22) inString = false
      continue
    }
    if (ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d) continue
    if (depth === 1 && expectElement && ch !== 0x5d) {
      offsets.push(i)
      expectElement = false
    }
    if (ch === 0x22) inString = true
    else if (ch === 0x5b || ch === 0x7b) {
      depth++
      if (depth === 1) expectElement = true
    } else if (ch === 0x5d || ch === 0x7d) depth--
    else if (ch === 0x2c && depth === 1) expectElement = true
  }
  return offsets
}

/** 1-based lines of ascending character offsets in `text`, in one pass. */
export function linesAt(text: string, offsets: readonly number[]): number[] {
  const lines: number[] = []
  let line = 1
  let pos = 0
  for (const offset of offsets) {
    for (let i = text.indexOf('\n', pos); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
      line++
      pos = i + 1
    }
    lines.push(line)
  }
  return lines
}
