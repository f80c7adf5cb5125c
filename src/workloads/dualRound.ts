import { sampleConversations, loadDataset } from '../data/index.ts'
import { InputError } from '../errors.ts'
import { promoteYoungObjects } from '../client/index.ts'
import { dualRoundSpeedups, summariseRound } from '../metrics/index.ts'
import { PrometheusSampler } from '../metrics/prometheusScrape.ts'
import { createRandom } from '../random.ts'
import { runClosedLoop } from '../schedule/index.ts'
import type { CacheResetOutcome, ChatMessage, Conversation, PrometheusRoundSummary, RequestRecord, RoundResult, RunResult } from '../types.ts'
import { checkWorkloadOptions, goodputRule } from './options.ts'
import type { DualRoundOptions } from './options.ts'
import { NO_RESET } from './resetCache.ts'
import { openRun } from './run.ts'
import { Session } from './session.ts'
import type { BuiltRequest } from './session.ts'

/** The requests of one conversation as round 1 sent them, replayed as-is in round 2. */
type Plan = (ChatMessage[] | null)[]

/**
 * Runs the dual-round workload: for every concurrency level, round 1 sends each sampled conversation
 * (turn by turn, with the model's real replies in the history), then round 2 sends the identical
 * requests again. The ratio of round 1 to round 2 TTFT is the cache speedup.
 */
export async function runDualRound(options: DualRoundOptions): Promise<RunResult> {
  checkWorkloadOptions(options, 'dualRound')
  const levels = options.concurrency ?? [1]
  for (const c of levels) {
    if (!Number.isInteger(c) || c < 1) throw new InputError(`concurrency levels must be whole numbers ≥ 1, got ${c}`, '--concurrency')
  }
  if (options.samples !== undefined && (!Number.isInteger(options.samples) || options.samples < 1)) {
    throw new InputError(`expected a whole number ≥ 1, got ${options.samples}`, '--num-samples')
  }
  const all: Conversation[] = typeof options.dataset === 'string' ? await loadDataset(options.dataset) : options.dataset
  // Prometheus: scrapes around each round; per request only in `request` mode.
  const sampler = options.prometheus ? new PrometheusSampler(options.prometheus, options.hooks?.onNotice) : undefined
  const perRequestSampler = sampler?.mode === 'request' ? sampler : undefined
  const prometheus: Record<string, PrometheusRoundSummary> = {}
  // No more connections than conversations can be in flight at once (a closed loop holds one each).
  const inFlight = Math.min(Math.max(...levels), options.samples ?? all.length, all.length)
  const run = await openRun(options, 'dual-round', Math.max(1, inFlight), options.hooks?.onNotice)
  const conversations = sampleConversations(all, options.samples, run.seed)
  await run.checkPromptCapacity(conversations.length)
  const hooks = options.hooks ?? {}
  const limits = { maxContextTokens: options.maxContextTokens, maxInputTokens: options.maxInputLength }
  const rounds: RoundResult[] = []
  const meets = goodputRule(options.goodputSlo, 'dualRound')

  try {
    for (const [level, concurrency] of levels.entries()) {
      if (run.signal.aborted) break
      // A reset URL empties the cache before the first round 1; before every one with resetCacheBetweenRounds.
      const reset: CacheResetOutcome = level === 0 || options.resetCacheBetweenRounds ? await run.resetCache(options.resetCacheUrl) : NO_RESET
      const plans: Plan[] = conversations.map((c) => c.userMessages.map(() => null))
      for (const round of [1, 2]) {
        if (run.signal.aborted) break
        const order = round === 2 && options.shuffleRound2
          ? createRandom(run.seed + concurrency).shuffle(conversations.map((_, i) => i))
          : conversations.map((_, i) => i)
        const label = `Concurrency${concurrency}-Round${round}`
        const total = conversations.reduce((n, c) => n + c.userMessages.length, 0)
        hooks.onRoundStart?.({ label, concurrency, round, total })
        const records: RequestRecord[] = []
        let seq = 0
        await sampler?.beforeRound()
        await runClosedLoop(order, concurrency, async (convIndex) => {
          const conv = conversations[convIndex] as Conversation
          const plan = plans[convIndex] as Plan
          const session = round === 1 ? new Session(conv.sessionId, run.tokenizer, limits, conv.system) : undefined
          for (let turn = 0; turn < conv.userMessages.length; turn++) {
            if (run.signal.aborted) return
            let messages: ChatMessage[]
            let built: BuiltRequest | undefined
            if (session) {
              built = session.next(conv.userMessages[turn] as string)
              messages = built.messages
              plan[turn] = messages
            } else {
              const planned = plan[turn]
              if (!planned) continue // round 1 never sent it (interrupted)
              messages = planned
            }
            const id = `c${concurrency}-r${round}-${seq++}`
            const meta = { id, index: convIndex, sessionId: conv.sessionId, turnIndex: turn, round, concurrency }
            // The context is counted only for the debug log (counting every prompt slowed dispatch).
            hooks.onDebug?.({ id, session_id: conv.sessionId, turn_index: turn, round, concurrency, messages, context_tokens: built?.contextTokens ?? -1, truncated_turns: built?.truncatedTurns ?? 0 })
            const before = perRequestSampler ? await perRequestSampler.beforeRequest() : undefined
            const record = await run.send(messages, meta)
            if (perRequestSampler) await perRequestSampler.afterRequest(before)
            records.push(record)
            hooks.onRequest?.(record)
            if (session && record.ok) session.reply(record.outputText)
          }
        }, run.signal, promoteYoungObjects)
        if (sampler) prometheus[label] = await sampler.afterRound()
        const summary = summariseRound({ label, concurrency, round }, records, meets)
        if (round === 1) summary.cacheReset = reset
        rounds.push(summary)
        await hooks.onRoundComplete?.(summary, records, run.context)
      }
    }
  } finally {
    sampler?.stop()
    await run.close()
  }
  const result = run.result(rounds, dualRoundSpeedups(rounds))
  if (sampler) result.prometheus = prometheus
  return result
}
