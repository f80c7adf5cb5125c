import { InputError } from '../errors.ts'
import { createRandom } from '../random.ts'
import type { Conversation } from '../types.ts'

/**
 * Picks `n` conversations, deterministically for a given seed.
 *
 * - `n` undefined, or `n` ≥ the number of conversations: all of them, in file order (no randomness).
 * - otherwise: a seeded sample of `n` distinct rows (partial Fisher–Yates with {@link createRandom}),
 *   returned in file order, so a sample of a dataset reads like the dataset and the same seed always
 *   picks the same rows. Order of sending (shuffles) is the workload's business, not the sampler's.
 *
 * @throws InputError when `n` is not a whole number ≥ 1.
 */
export function sampleConversations(convs: Conversation[], n: number | undefined, seed: number): Conversation[] {
  return sampleIndexes(convs.length, n, seed).map((i) => convs[i] as Conversation)
}

/**
 * The indexes {@link sampleConversations} picks from `length` conversations: all of them in order, or a
 * seeded sample of `n` in ascending order (the same rows for the same seed).
 *
 * @throws InputError when `n` is not a whole number ≥ 1.
 */
export function sampleIndexes(length: number, n: number | undefined, seed: number): number[] {
  const all = (): number[] => Array.from({ length }, (_, i) => i)
  if (n === undefined) return all()
  if (!Number.isInteger(n) || n < 1) throw new InputError(`sample size must be a whole number ≥ 1, got ${n}`, '--num-samples')
  if (n >= length) return all()
  const random = createRandom(seed)
  const indexes = all()
  for (let i = 0; i < n; i++) {
    const j = i + random.int(indexes.length - i)
    const tmp = indexes[i] as number
    indexes[i] = indexes[j] as number
    indexes[j] = tmp
  }
  return indexes.slice(0, n).sort((a, b) => a - b)
}
