import { listOf, loadConversationList, pickConversations, sampleIndexes } from '../data/index.ts'
import type { ConversationList } from '../data/index.ts'
import { InputError } from '../errors.ts'
import type { RequestMeta } from '../client/index.ts'
import { dualRoundSpeedups } from '../metrics/index.ts'
import { createRandom } from '../random.ts'
import { runClosedLoop } from '../schedule/index.ts'
import type { CacheResetOutcome, ChatMessage, Conversation, DualRoundResult, RoundResult } from '../types.ts'
import { runWorkload } from './engine.ts'
import type { RunExtras, WorkloadDefinition, WorkloadOutcome, WorkloadRun } from './engine.ts'
import { conversationTools, ownedBy, shardOf, shardWorkers } from './options.ts'
import type { DualRoundOptions, KeysOf, WorkloadSettings } from './options.ts'
import { NO_RESET } from './resetCache.ts'
import { Session } from './session.ts'
import type { BuiltRequest } from './session.ts'

/**
 * Round 1's request for one turn, replayed as-is in round 2: its messages, or AS_FIRST_BUILT when they are
 * what the conversation alone gives (its first turn, untruncated), rebuilt in round 2 rather than kept, so a
 * run of a million one-turn conversations holds no copy of them between its rounds.
 */
type Planned = ChatMessage[] | typeof AS_FIRST_BUILT
const AS_FIRST_BUILT = 0
/** The requests of one conversation as round 1 sent them (a turn round 1 never sent is missing). */
type Plan = Planned[]
/** The plan of every one-turn conversation sent untruncated: shared, it costs nothing per conversation. */
const ONLY_FIRST_TURN: Plan = Object.freeze([AS_FIRST_BUILT]) as unknown as Plan

/** The first turn's messages as Session.next builds them without truncation: the system prompt, then the turn. */
function firstTurn(conv: Conversation): ChatMessage[] {
  const user: ChatMessage = { role: 'user', content: conv.userMessages[0] as string }
  return conv.system ? [{ role: 'system', content: conv.system }, user] : [user]
}

type OwnKeys = Omit<DualRoundOptions, keyof WorkloadSettings>

const KEYS: KeysOf<OwnKeys> = {
  dataset: true, concurrency: true, samples: true, maxContextTokens: true, maxInputLength: true, resetCacheBetweenRounds: true, shuffleRound2: true,
}

/**
 * The dual-round workload: for every concurrency level, round 1 sends each sampled conversation (turn by
 * turn, with the model's real replies in the history), then round 2 sends the identical requests again.
 * The ratio of round 1 to round 2 TTFT is the cache speedup.
 */
export const DUAL_ROUND: WorkloadDefinition<DualRoundOptions, DualRoundResult> = {
  name: 'dualRound',
  kind: 'dual-round',
  keys: { options: KEYS },
  async prepare(options, seed) {
    const levels = options.concurrency ?? [1]
    for (const c of levels) {
      if (!Number.isInteger(c) || c < 1) throw new InputError(`concurrency levels must be whole numbers ≥ 1, got ${c}`, '--concurrency')
    }
    if (options.samples !== undefined && (!Number.isInteger(options.samples) || options.samples < 1)) {
      throw new InputError(`expected a whole number ≥ 1, got ${options.samples}`, '--num-samples')
    }
    // A file's rows are kept compactly (a 500,000-row file held 127 MB as objects): see ConversationList.
    const all = typeof options.dataset === 'string' ? await loadConversationList(options.dataset) : listOf(options.dataset)
    const conversations = pickConversations(all, sampleIndexes(all.length, options.samples, seed))
    const shard = shardOf(options.shard, 'dualRound')
    if (shard.count > 1) {
      if (conversations.length < shard.count) throw new InputError(`${shard.count} shards for ${conversations.length} conversations: a shard would have nothing to send`, '--shard')
      for (const c of levels) shardWorkers(c, shard, '--concurrency')
      // One shard's reset before its next level would land in another shard's warm round 2.
      if (options.resetCacheBetweenRounds && levels.length > 1) throw new InputError('a sharded run cannot empty the cache between levels (one shard\'s reset would land in another\'s warm round); run one level per sharded run, or drop it', '--reset-cache-between-rounds')
    }
    return {
      settings: options,
      // A closed loop holds one conversation per worker: no more connections than conversations.
      inFlight: Math.min(Math.max(...levels), conversations.length),
      distinctPrompts: conversations.length,
      execute: (run) => execute(run, options, levels, conversations),
    }
  },
}

async function execute(run: WorkloadRun, options: DualRoundOptions, levels: number[], conversations: ConversationList): Promise<WorkloadOutcome<DualRoundResult>> {
  const limits = { maxContextTokens: options.maxContextTokens, maxInputTokens: options.maxInputLength }
  // A shard sends its conversations (index mod n) with its share of each level's workers.
  // Indexes and plans are typed arrays, off the heap: with a million conversations, V8 would grow its heap
  // to a multiple of them (docs/performance.md, "The dataset in memory").
  const everyIndex = (): Int32Array => Int32Array.from({ length: conversations.length }, (_, i) => i)
  const mine = everyIndex().filter((i) => ownedBy(i, run.shard))
  let total = 0
  for (const i of mine) total += conversations.at(i).userMessages.length
  const rounds: RoundResult[] = []
  for (const [level, concurrency] of levels.entries()) {
    if (run.signal.aborted) break
    // The cache is emptied before the first round 1, and before every one with resetCacheBetweenRounds.
    const reset: CacheResetOutcome = level === 0 || options.resetCacheBetweenRounds ? await run.resetCache() : NO_RESET
    // A one-turn conversation's plan is a flag (ONLY_FIRST_TURN); any other is kept in the map.
    const onlyFirstTurn = new Uint8Array(conversations.length)
    const plans = new Map<number, Plan>()
    const planOf = (convIndex: number): Plan | undefined => (onlyFirstTurn[convIndex] === 1 ? ONLY_FIRST_TURN : plans.get(convIndex))
    for (const round of [1, 2]) {
      if (run.signal.aborted) break
      // Shuffled whole, then a shard's own taken: each shard keeps its place in the one seeded order.
      const order = round === 2 && options.shuffleRound2 ? createRandom(run.seed + concurrency).shuffle(everyIndex()).filter((i) => ownedBy(i, run.shard)) : mine
      const label = `Concurrency${concurrency}-Round${round}`
      const group = run.group({ label, concurrency, round }, total)
      let seq = 0
      await run.phase(label, async () => {
        const loop = runClosedLoop(order, shardWorkers(concurrency, run.shard, '--concurrency'), async (convIndex) => {
          const conv = conversations.at(convIndex)
          const session = round === 1 ? new Session(conv.sessionId, run.tokenizer, limits, conv.system) : undefined
          for (let turn = 0; turn < conv.userMessages.length; turn++) {
            if (run.signal.aborted) return
            let messages: ChatMessage[]
            let built: BuiltRequest | undefined
            if (session) {
              built = session.next(conv.userMessages[turn] as string)
              messages = built.messages
              const asFirstBuilt = turn === 0 && (messages.at(-1) as ChatMessage).content === conv.userMessages[0]
              if (asFirstBuilt && conv.userMessages.length === 1) onlyFirstTurn[convIndex] = 1
              else {
                const plan = plans.get(convIndex) ?? []
                plan[turn] = asFirstBuilt ? AS_FIRST_BUILT : messages
                plans.set(convIndex, plan)
              }
            } else {
              const planned = planOf(convIndex)?.[turn]
              if (planned === undefined) continue // round 1 never sent it (interrupted)
              messages = planned === AS_FIRST_BUILT ? firstTurn(conv) : planned
            }
            // Sharded, ids name the conversation and turn: each shard's own counter would repeat the others' ids.
            const id = run.shard.count > 1 ? `c${concurrency}-r${round}-s${convIndex}-t${turn}` : `c${concurrency}-r${round}-${seq++}`
            if (run.debugging) debugTurn(run, { id, sessionId: conv.sessionId, turnIndex: turn, round, concurrency }, messages, built)
            const meta: RequestMeta = { id, index: convIndex, sessionId: conv.sessionId, turnIndex: turn, round, concurrency }
            if (conv.tools !== undefined) meta.tools = conversationTools(conv).tools
            const record = await group.send(messages, meta)
            if (session && record.ok) session.reply(record.outputText)
          }
        }, run.signal)
        // Every worker has sent its first request by now (each runs synchronously up to its first await).
        run.afterBurst()
        await loop
      })
      rounds.push(await group.end(round === 1 ? reset : undefined))
    }
  }
  return { rounds, speedups: dualRoundSpeedups(rounds), section: {} }
}

/**
 * The `--debug` entry of a turn. Made here, not in the conversation's loop: a closure there made V8 allocate a
 * context for every request, with or without `--debug`. The context is counted only for the debug log (counting
 * every prompt slowed dispatch).
 */
function debugTurn(run: WorkloadRun, meta: Pick<RequestMeta, 'id' | 'sessionId' | 'turnIndex' | 'round' | 'concurrency'>, messages: ChatMessage[], built: BuiltRequest | undefined): void {
  run.debug(() => ({ id: meta.id, session_id: meta.sessionId, turn_index: meta.turnIndex, round: meta.round, concurrency: meta.concurrency, messages, context_tokens: built?.contextTokens ?? -1, truncated_turns: built?.truncatedTurns ?? 0 }))
}

/**
 * Runs the dualRound workload against `options.endpoint` (no host defaults: see `dualRound()` for the Vitest-aware
 * function) and returns its RunResult.
 */
export function runDualRound(options: DualRoundOptions, extras?: RunExtras): Promise<DualRoundResult> {
  return runWorkload(DUAL_ROUND, options, extras)
}
