import { describe, expect, test } from 'vitest'
import { getTokenizer } from '../../src/tokens/index.ts'
import { Session } from '../../src/workloads/session.ts'

const tokenizer = await getTokenizer()

describe('Session', () => {
  test('sends the question alone first, then history with the real replies', () => {
    const s = new Session('s1', tokenizer)
    expect(s.next('q1').messages).toEqual([{ role: 'user', content: 'q1' }])
    s.reply('a1')
    expect(s.next('q2').messages).toEqual([
      { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' },
    ])
  })

  test('a failed turn (no reply) is left out so roles keep alternating', () => {
    const s = new Session('s1', tokenizer)
    s.next('q1')
    expect(s.next('q2').messages).toEqual([{ role: 'user', content: 'q2' }])
  })

  test('drops the oldest turns first when the context exceeds the limit', () => {
    const long = 'word '.repeat(50)
    const s = new Session('s1', tokenizer, { maxContextTokens: 120 })
    for (const q of ['first', 'second', 'third']) {
      s.next(`${q} ${long}`)
      s.reply(long)
    }
    const built = s.next('last question')
    expect(built.truncatedTurns).toBe(2)
    expect(built.messages[0]?.content.startsWith('third')).toBe(true)
    expect(built.messages.at(-1)?.content).toBe('last question')
    expect(built.contextTokens).toBeLessThanOrEqual(120)
  })

  test('keeps the system prompt and cuts a long question to maxInputTokens', () => {
    const s = new Session('s1', tokenizer, { maxInputTokens: 5 }, 'be brief')
    const built = s.next('one two three four five six seven eight nine ten')
    expect(built.messages[0]).toEqual({ role: 'system', content: 'be brief' })
    expect(tokenizer.count(built.messages[1]?.content ?? '')).toBe(5)
  })

  test('counts nothing while building unless a limit needs it; the context is counted when read', () => {
    let counted = 0
    const counting = { ...tokenizer, count: (text: string) => (counted++, tokenizer.count(text)), encode: tokenizer.encode }
    const s = new Session('s1', counting, {}, 'be brief')
    s.next('first question')
    s.reply('first answer')
    const built = s.next('second question')
    expect(counted).toBe(0)
    const expected = ['be brief', 'first question', 'first answer', 'second question'].reduce((n, t) => n + tokenizer.count(t), 0)
    expect(built.contextTokens).toBe(expected)
    expect(counted).toBe(4)
    s.reply('second answer')
    expect(built.contextTokens).toBe(expected) // a later reply does not change what was sent
    expect(counted).toBe(4)
  })

  test('counts each history turn once however many requests carry it', () => {
    let counted = 0
    const counting = { ...tokenizer, count: (text: string) => (counted++, tokenizer.count(text)) }
    const s = new Session('s1', counting, { maxContextTokens: 10_000 })
    for (let turn = 0; turn < 5; turn++) {
      s.next(`question ${turn}`)
      s.reply(`answer ${turn}`)
    }
    // Each build counts its question (5 builds) and each new history turn's two texts once (4 turns).
    expect(counted).toBe(5 + 4 * 2)
  })
})
