/**
 * The mock's own tokenizer: one pass over the UTF-16 code units, no regex, no vocabulary.
 * A token is the 32-bit hash of its text, which is all the prefix cache needs. Counts are roughly
 * BPE-sized (English prose within a few per cent of o200k_base, Markdown and code about 10% more;
 * docs/design/mock.md#tokenizer) and, above all, deterministic and fast: tens of MB of text per second, about 100
 * times faster than js-tiktoken, so hundreds of concurrent long prompts cost little.
 *
 * Rules:
 * - a run of letters (ASCII and accented Latin) is split into pieces of at most 8, one token each
 * - digits go in groups of up to 3; punctuation in runs of up to 3
 * - a single space before a word, number or punctuation belongs to that token, as in GPT vocabularies
 * - any other run of whitespace (newlines, indentation) is one token
 * - other characters (CJK, emoji, symbols) go in pairs
 */

import { fmix32 } from './hash.ts'

const MAX_LETTERS = 8
const MAX_DIGITS = 3
const MAX_PUNCT = 3

// Character classes, precomputed for ASCII.
const LETTER = 1
const DIGIT = 2
const SPACE = 3
const NEWLINE = 4
const OTHER_WS = 5
const PUNCT = 6
const WIDE = 7

const asciiClass = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) asciiClass[c] = LETTER
  else if (c >= 48 && c <= 57) asciiClass[c] = DIGIT
  else if (c === 32) asciiClass[c] = SPACE
  else if (c === 10 || c === 13) asciiClass[c] = NEWLINE
  else if (c === 9 || c === 11 || c === 12) asciiClass[c] = OTHER_WS
  else asciiClass[c] = PUNCT
}

function classOf(c: number): number {
  if (c < 128) return asciiClass[c]!
  // Latin-1 Supplement and Latin Extended letters join words; the rest stands alone.
  if (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7) return LETTER
  if (c === 0xa0) return OTHER_WS
  return WIDE
}

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/**
 * Appends the token ids (hashes) of `text` to `out` and returns `out`.
 * Appending lets a chat prompt be built message by message without concatenating strings.
 */
export function tokenizeInto(text: string, out: number[]): number[] {
  const n = text.length
  let i = 0
  while (i < n) {
    let h = FNV_OFFSET
    let c = text.charCodeAt(i)
    let cls = classOf(c)
    // A single space joins the following word, number or punctuation.
    if (cls === SPACE && i + 1 < n) {
      const nextCls = classOf(text.charCodeAt(i + 1))
      if (nextCls === LETTER || nextCls === DIGIT || nextCls === PUNCT) {
        h = Math.imul(h ^ c, FNV_PRIME)
        i++
        c = text.charCodeAt(i)
        cls = nextCls
      }
    }
    const start = i
    h = Math.imul(h ^ c, FNV_PRIME)
    i++
    switch (cls) {
      case LETTER:
        while (i < n && i - start < MAX_LETTERS && classOf(text.charCodeAt(i)) === LETTER) {
          h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
          i++
        }
        break
      case DIGIT:
        while (i < n && i - start < MAX_DIGITS && classOf(text.charCodeAt(i)) === DIGIT) {
          h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
          i++
        }
        break
      case PUNCT:
        while (i < n && i - start < MAX_PUNCT && classOf(text.charCodeAt(i)) === PUNCT) {
          h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
          i++
        }
        break
      case NEWLINE:
      case SPACE:
      case OTHER_WS:
        while (i < n) {
          const next = text.charCodeAt(i)
          const nextCls = classOf(next)
          if (nextCls !== SPACE && nextCls !== NEWLINE && nextCls !== OTHER_WS) break
          // Leave a last single space for the word that follows it.
          if (nextCls === SPACE && i + 1 < n) {
            const after = classOf(text.charCodeAt(i + 1))
            if (after === LETTER || after === DIGIT || after === PUNCT) break
          }
          h = Math.imul(h ^ next, FNV_PRIME)
          i++
        }
        break
      default:
        // WIDE: pairs, about what BPE vocabularies give for CJK text.
        if (i < n && classOf(text.charCodeAt(i)) === WIDE) {
          h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
          i++
        }
        break
    }
    out.push(fmix32(h))
  }
  return out
}

/** The token ids of `text`. */
export function tokenize(text: string): number[] {
  return tokenizeInto(text, [])
}

/** How many tokens `text` has. */
export function countTokens(text: string): number {
  return tokenizeInto(text, []).length
}

/**
 * Special tokens of the mock's chat template. They are fixed ids that no text hashes to in practice,
 * so role markers cost one token each and cannot merge with content.
 */
export const SPECIAL_TOKENS = {
  system: 0xfffff001,
  user: 0xfffff002,
  assistant: 0xfffff003,
  tool: 0xfffff004,
  developer: 0xfffff005,
  /** Opens the tool definitions at the head of a prompt (template.ts). */
  tools: 0xfffff006,
  other: 0xfffff00e,
  end: 0xfffff00f,
} as const
