import { afterEach, describe, expect, test } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import type { ChatMessage, Conversation } from '../../src/types.ts'
import { runDualRound } from '../../src/workloads/index.ts'
import type { DualRoundOptions } from '../../src/workloads/index.ts'

let mock: MockServer | undefined
afterEach(async () => {
  await mock?.close()
  mock = undefined
})

const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ')
/** One-turn, with a system prompt, several turns, and a first turn long enough to be truncated. */
const conversations: Conversation[] = [
  { sessionId: 'one', userMessages: ['a single question'], source: 't:1' },
  { sessionId: 'system', userMessages: ['a question under a system prompt'], system: 'be brief', source: 't:2' },
  { sessionId: 'turns', userMessages: ['first', 'second', 'third'], source: 't:3' },
  { sessionId: 'system-turns', userMessages: ['first', 'second'], system: 'be brief', source: 't:4' },
  { sessionId: 'long', userMessages: [long, 'then this'], source: 't:5' },
  { sessionId: 'long-one', userMessages: [long], source: 't:6' },
]

async function sent(options: Partial<DualRoundOptions> = {}): Promise<Map<string, ChatMessage[]>[]> {
  mock = await startMockServer({ port: 0, itlMs: 0, jitter: 0 })
  const rounds = [new Map<string, ChatMessage[]>(), new Map<string, ChatMessage[]>()]
  await runDualRound({
    endpoint: `${mock.url}/v1/chat/completions`, dataset: conversations, concurrency: [2], maxOutputTokens: 6, seed: 3, ...options,
    hooks: { onDebug: (e) => void rounds[e.round - 1]?.set(`${e.session_id}#${e.turn_index}`, e.messages as ChatMessage[]) },
  })
  return rounds
}

/** Round 2 sends round 1's requests again, whether it kept their messages or rebuilt them from the conversation. */
describe('dual-round: round 2 replays round 1', () => {
  test('every turn of every kind of conversation, message for message', async () => {
    const [round1, round2] = await sent()
    expect(round1?.size).toBe(10)
    expect(round2).toEqual(round1)
    // The later turns carry the model's real replies, so they were kept, not rebuilt.
    expect(round2?.get('turns#2')?.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user'])
    expect(round2?.get('system#0')).toEqual([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'a question under a system prompt' }])
  })

  test('a truncated first turn is replayed truncated', async () => {
    const [round1, round2] = await sent({ maxInputLength: 8 })
    expect(round1?.get('long-one#0')?.[0]?.content.length).toBeLessThan(long.length)
    expect(round2).toEqual(round1)
  })
})
