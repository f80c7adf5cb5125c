import { describe, expect, it } from 'vitest'
import { countTokens, tokenize } from '../../src/mock/tokenizer.ts'

describe('mock tokenizer', () => {
  it('is deterministic and splits words, numbers and punctuation', () => {
    expect(tokenize('Hello, world!')).toEqual(tokenize('Hello, world!'))
    expect(countTokens('Hello, world!')).toBe(4) // Hello | , | ␣world | !
    expect(countTokens('12345')).toBe(2) // 123 | 45
    expect(countTokens('internationalization')).toBe(3) // 8 + 8 + 4 letters
    expect(countTokens('')).toBe(0)
  })

  it('gives a word with its leading space one token, different from the bare word', () => {
    const [a] = tokenize(' cache')
    const [b] = tokenize('cache')
    expect(countTokens(' cache')).toBe(1)
    expect(a).not.toBe(b)
  })

  it('counts about one token per four characters of English prose', () => {
    const prose =
      'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of ' +
      'foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light.'
    const ratio = prose.length / countTokens(prose)
    expect(ratio).toBeGreaterThan(3.5)
    expect(ratio).toBeLessThan(5)
  })

  it('keeps the tokens of a prefix when text is appended after a whitespace boundary', () => {
    const head = tokenize('The quick brown fox.')
    const whole = tokenize('The quick brown fox. Jumps over.')
    expect(whole.slice(0, head.length)).toEqual(head)
  })
})
