/**
 * The mock's hashing: token ids, prefix-cache keys, the echo tag's session hash and the seed of each
 * request's generated text. Its random choices (jitter, injected errors, words) use `Random` from
 * src/random.ts, seeded from the mock's `seed` or these hashes, so two runs with the same seed and the
 * same request order behave the same.
 */

import { fmix32 } from '../random.ts'

export { fmix32 }

/** FNV-1a over UTF-16 code units, finished with a murmur3 avalanche so nearby strings spread. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  }
  return fmix32(h)
}

/** Eight lowercase hex digits of `hash32(text)`: the short hash the mock echoes. */
export function shortHash(text: string): string {
  return hash32(text).toString(16).padStart(8, '0')
}
