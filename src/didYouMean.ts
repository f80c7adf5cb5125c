import { InputError } from './errors.ts'

/**
 * The candidate closest to `word`, for "did you mean": case, `_` and `-` are ignored; a candidate within
 * 2 edits, or one that starts with, ends with or contains the word (or is contained in it, 4+ letters),
 * e.g. `numSamples` → `samples`, `ttft` → `ttft_ms`. Undefined when nothing is close.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = normalise(word)
  let best: string | undefined
  let bestD = Infinity
  let bestRaw = Infinity
  for (const c of candidates) {
    const d = distance(w, normalise(c))
    // Ties go to the spelling nearest as typed: `ttftMS` → `ttftMs`, `ttft-ms` → `ttft_ms`.
    const raw = d <= bestD ? distance(word, c) : Infinity
    if (d < bestD || (d === bestD && raw < bestRaw)) {
      bestD = d
      bestRaw = raw
      best = c
    }
  }
  if (best !== undefined && bestD <= 2) return best
  if (w.length < 4) return undefined
  // No near spelling: the shortest candidate that contains the word or is contained in it.
  const related = candidates.filter((c) => {
    const n = normalise(c)
    return n.length >= 4 && (n.includes(w) || w.includes(n))
  })
  return related.sort((a, b) => Math.abs(normalise(a).length - w.length) - Math.abs(normalise(b).length - w.length))[0]
}

/**
 * Throws an InputError for the first own key of `value` not in `accepted`:
 * `<where>: unknown <what> "numSamples" (did you mean "samples"?)`, listing the accepted keys when none is close.
 * Keys whose value is undefined are checked too (a misspelt key is wrong whatever its value).
 */
export function rejectUnknownKeys(value: object, accepted: readonly string[], what: string, where: string): void {
  for (const key of Object.keys(value)) {
    if (accepted.includes(key)) continue
    const near = closest(key, accepted)
    const hint = near ? ` (did you mean "${near}"?)` : `; accepted: ${accepted.join(', ')}`
    throw new InputError(`unknown ${what} "${key}"${hint}`, where)
  }
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, '')
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length] as number
}
