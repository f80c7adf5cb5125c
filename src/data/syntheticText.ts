import type { Random } from '../random.ts'
import type { Tokenizer } from '../tokens/index.ts'

/**
 * Common English words; those that are one token on their own and after a space (in the tokenizer
 * at hand) make synthetic text whose token count is its word count.
 */
const WORDS = `the of and to in is was for on that with as by at from his her they this which have are
but not had one all were when there can an been has more who will out about would some time their
into only other new could also than first people after two made like over such these years many then
them most where state may way year over back both work life should day part used world little under
city area high great well long down around while place three since small found good during before
school still take house every name among end form never come hand water world light group page point
home book line night river music order ground market paper story table voice garden window summer
winter morning letter island forest valley bridge harbor village castle tower engine camera planet
rocket signal memory pattern circle doctor farmer teacher painter singer player writer captain`
  .split(/\s+/)
  .filter((w, i, all) => w.length > 0 && all.indexOf(w) === i)

const vocabularies = new WeakMap<Tokenizer, string[]>()

/** Words that count as exactly one token both alone and after a space. */
function vocabulary(tokenizer: Tokenizer): string[] {
  let words = vocabularies.get(tokenizer)
  if (!words) {
    words = WORDS.filter((w) => tokenizer.count(w) === 1 && tokenizer.count(` ${w}`) === 1 && tokenizer.count(`${w} ${w}`) === 2)
    if (words.length < 16) throw new Error(`the ${tokenizer.encoding} tokenizer has too few one-token words for synthetic text`)
    vocabularies.set(tokenizer, words)
  }
  return words
}

/**
 * Text of exactly `tokens` tokens (by `tokenizer`): seeded random words separated by spaces.
 * With `leadingSpace`, the text starts with a space, so appending it to text that ends in a word adds
 * exactly `tokens` tokens (a space-led word is its own token). The count is verified.
 */
export function exactTokenText(tokenizer: Tokenizer, tokens: number, random: Random, options: { leadingSpace?: boolean } = {}): string {
  if (!Number.isInteger(tokens) || tokens < 0) throw new RangeError(`tokens must be a whole number ≥ 0, got ${tokens}`)
  if (tokens === 0) return ''
  const words = vocabulary(tokenizer)
  const picked = Array.from({ length: tokens }, () => words[random.int(words.length)] as string)
  let text = (options.leadingSpace ? ' ' : '') + picked.join(' ')
  // Defensive: should a tokenizer merge across words, trim or pad until the count is exact.
  for (let guard = 0; guard < 4 * tokens; guard++) {
    const count = tokenizer.count(text)
    if (count === tokens) return text
    text = count > tokens ? text.replace(/ ?\S+$/, '') : `${text} ${words[random.int(words.length)]}`
  }
  throw new Error(`could not build text of exactly ${tokens} tokens with ${tokenizer.encoding}`)
}
