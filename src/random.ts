/**
 * One seeded generator for every random choice of a run (sampling, shuffles, delays, arrivals),
 * so a run repeats exactly from its saved seed. mulberry32: small, fast, good enough for load shaping.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
  /** Uniform in [min, max). */
  between(min: number, max: number): number
  /** A new array with the items in a seeded random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[]
  /** A typed array's items in the same seeded order as the plain array's overload gives them. */
  shuffle(items: Int32Array): Int32Array
  /** Exponential with the given mean (Poisson inter-arrival gaps). */
  exponential(mean: number): number
  /** An independent generator derived from this one (for sub-streams such as per-user choices). */
  fork(): Random
}

/** mulberry32: a seeded generator of floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A generator seeded with `seed`; the same seed gives the same sequence (the mock's output depends on it). */
export function createRandom(seed: number): Random {
  const next = mulberry32(seed)
  const random: Random = {
    next,
    int: (n) => Math.floor(next() * n),
    between: (min, max) => min + next() * (max - min),
    shuffle<T>(items: readonly T[] | Int32Array): T[] & Int32Array {
      const out = items.slice() as T[] & Int32Array
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1))
        const tmp = out[i] as (typeof out)[number]
        out[i] = out[j] as (typeof out)[number]
        out[j] = tmp
      }
      return out
    },
    exponential: (mean) => -Math.log(1 - next()) * mean,
    fork: () => createRandom(Math.floor(next() * 4294967296)),
  }
  return random
}

/** A fresh seed when the user gives none (saved with the results so the run can be repeated). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31)
}

/** MurmurHash3's 32-bit finaliser: mixes every input bit into every output bit (the mock's hashes, trace block seeds). */
export function fmix32(x: number): number {
  let h = x >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
