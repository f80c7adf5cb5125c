/**
 * A prefix cache over fixed-size token blocks, as vLLM's: block i's key hashes block i's tokens
 * together with block i−1's key, so a key stands for the whole prefix up to the end of its block and
 * two prompts share cached blocks only as far as their tokens agree from the start.
 *
 * Keys are 53-bit numbers (two 32-bit hash lanes), so they index a Set directly and collisions stay
 * negligible at millions of blocks. The Set's insertion order is the LRU order (first = coldest).
 * See docs/design/mock.md#prefix-cache
 */
import { fmix32 } from './hash.ts'

/** Multiplies a 32-bit lane with one token, murmur3-style. */
function mixLane(h: number, token: number): number {
  let k = Math.imul(token, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, 0x1b873593)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/** murmur3's finaliser ends each lane. */
const finishLane = fmix32

const TWO_32 = 4294967296
const HI_MASK = 0x1fffff // 21 bits, so hi * 2^32 + lo stays a safe integer

/** The root of every chain: the key "before" the first block. */
export const ROOT_KEY = 0

/**
 * Keys of the full blocks of `tokens[from..]`, chained from `parent`.
 * A trailing partial block gets no key (only full blocks are cached).
 */
export function blockKeys(tokens: ArrayLike<number>, blockSize: number, parent = ROOT_KEY, from = 0): number[] {
  const keys: number[] = []
  let key = parent
  for (let start = from; start + blockSize <= tokens.length; start += blockSize) {
    let lo = mixLane(0x9747b28c, key >>> 0)
    let hi = mixLane(0x5bd1e995, Math.floor(key / TWO_32))
    lo = mixLane(lo, Math.floor(key / TWO_32))
    hi = mixLane(hi, key >>> 0)
    for (let i = start; i < start + blockSize; i++) {
      const t = tokens[i]!
      lo = mixLane(lo, t)
      hi = mixLane(hi, t ^ 0x5f356495)
    }
    key = (finishLane(hi) & HI_MASK) * TWO_32 + finishLane(lo)
    keys.push(key)
  }
  return keys
}

export interface PrefixCacheOptions {
  blockSize: number
  capacityTokens: number
  enabled: boolean
}

export class PrefixCache {
  readonly blockSize: number
  readonly capacityBlocks: number
  readonly enabled: boolean
  readonly #blocks = new Set<number>()

  constructor(options: PrefixCacheOptions) {
    this.blockSize = options.blockSize
    this.capacityBlocks = Math.floor(options.capacityTokens / options.blockSize)
    this.enabled = options.enabled
  }

  /** Blocks currently cached. */
  get size(): number {
    return this.#blocks.size
  }

  /** Share of the capacity in use, 0..1. */
  get usage(): number {
    return this.capacityBlocks === 0 ? 0 : this.#blocks.size / this.capacityBlocks
  }

  /** How many leading `keys` are cached (the longest cached prefix, in blocks). */
  match(keys: readonly number[]): number {
    if (!this.enabled) return 0
    let n = 0
    while (n < keys.length && this.#blocks.has(keys[n]!)) n++
    return n
  }

  /**
   * Marks `keys` (one chain, head first) as most recently used, adding the missing ones and
   * evicting the coldest blocks beyond capacity. The chain goes in tail first, so that under
   * pressure a chain loses its tail before its head, as vLLM's free-block queue does: a head
   * evicted first would orphan the rest.
   */
  insert(keys: readonly number[]): void {
    if (!this.enabled || this.capacityBlocks === 0) return
    const blocks = this.#blocks
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!
      blocks.delete(key)
      blocks.add(key)
    }
    if (blocks.size > this.capacityBlocks) {
      let excess = blocks.size - this.capacityBlocks
      for (const key of blocks) {
        if (excess-- <= 0) break
        blocks.delete(key)
      }
    }
  }

  /** Empties the cache (`POST /reset`, `/reset_prefix_cache`). */
  reset(): void {
    this.#blocks.clear()
  }
}
