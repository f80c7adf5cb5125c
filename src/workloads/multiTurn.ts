import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadSeedDocuments } from '../data/index.ts'
import type { DocumentType, SeedDocument } from '../data/index.ts'
import { InputError } from '../errors.ts'
import { speedupOf, summariseRound } from '../metrics/index.ts'
import { createRandom } from '../random.ts'
import type { Random } from '../random.ts'
import { runClosedLoop } from '../schedule/index.ts'
import type { GoodputSlo } from '../slo/index.ts'
import type { ConversationSummary, RequestRecord, RoundResult, RunResult } from '../types.ts'
import { byTurn, statsBy } from './groupStats.ts'
import { firstMessage, followUp, planConversations } from './multiTurnPrompts.ts'
import type { ConversationPlan } from './multiTurnPrompts.ts'
import { checkWorkloadOptions, goodputRule } from './options.ts'
import type { EndpointSettings, RunHooks } from './options.ts'
import { openRun } from './run.ts'
import { Session } from './session.ts'

/** How one conversation ended. */
export interface ConversationOutcome {
  index: number
  sessionId: string
  document: string
  type: DocumentType
  instruction: string
  /** Turns sent (including a failed one). */
  turnsSent: number
  /** Turns answered. */
  turnsAnswered: number
  ended: 'completed' | 'context_too_long' | 'with_errors' | 'interrupted'
  /** For `context_too_long`: the server's message. */
  message?: string
}

/** Callbacks of the multi-turn workload: the common ones, and one per finished conversation. */
export interface MultiTurnHooks extends RunHooks {
  onConversationEnd?(outcome: ConversationOutcome): void
}

/** The multi-turn workload (seed 002): conversations about seed documents, turn by turn. */
export interface MultiTurnOptions extends EndpointSettings {
  /** A directory of seed documents, or documents already loaded. @default the shipped `datasets/seed-documents` */
  documents?: string | SeedDocument[]
  /** Conversations to hold (`-c`). @default 11 */
  conversations?: number
  /** Turns per conversation (`-t`). @default 10 */
  turns?: number
  /** Parallel workers (`-p`): each holds one conversation at a time, turn by turn. @default 4 */
  parallel?: number
  /** Least think time before each request, seconds. @default 0.5 */
  minDelay?: number
  /** Most think time before each request, seconds. @default 2.0 */
  maxDelay?: number
  /** Drop the oldest turns when the context exceeds this many tokens (the document turn goes first). */
  maxContextTokens?: number
  /** POST here before the first request to empty the server's prefix cache, so turn 1 starts cold. */
  resetCacheUrl?: string
  /** Per-request SLO limits (`ttft_ms` or `ttftMs`, `tpot_ms`, `latency_ms`); when given, both groups report goodput. */
  goodputSlo?: GoodputSlo
  hooks?: MultiTurnHooks
}

/** Defaults of the multi-turn workload (seed 002's). */
export const MULTI_TURN_DEFAULTS = {
  conversations: 11,
  turns: 10,
  parallel: 4,
  minDelay: 0.5,
  maxDelay: 2.0,
  maxOutputTokens: 500,
  timeout: 120,
} as const

/** The seed documents shipped with fluxperf (`datasets/seed-documents`), from a checkout or an installed package. */
export function shippedSeedDocumentsDir(): string {
  for (const up of ['../../datasets/seed-documents', '../../../datasets/seed-documents']) {
    const dir = fileURLToPath(new URL(up, import.meta.url))
    if (existsSync(dir)) return dir
  }
  return 'datasets/seed-documents'
}

/**
 * Runs the multi-turn workload: `conversations` conversations about seed documents, each of `turns`
 * turns (the document and an instruction first, then follow-up questions, with the model's real
 * replies in the history), `parallel` at a time, a seeded think time before each request. A 400
 * "context too long" ends that conversation and the run goes on.
 *
 * The RunResult has two groups so every matcher applies: round 1 = every turn-1 request (`Turn1`),
 * round 2 = every later turn (`Turns2+`), at concurrency `parallel`; `speedups` are turn 1 / later
 * turns TTFT (avg and p50); `byTurn` and `byDocumentType` break TTFT and latency down further.
 */
export async function runMultiTurn(options: MultiTurnOptions): Promise<RunResult> {
  checkWorkloadOptions(options, 'multiTurn')
  const conversations = checkCount(options.conversations ?? MULTI_TURN_DEFAULTS.conversations, '--conversations')
  const turns = checkCount(options.turns ?? MULTI_TURN_DEFAULTS.turns, '--turns')
  const parallel = checkCount(options.parallel ?? MULTI_TURN_DEFAULTS.parallel, '--parallel')
  const minDelay = options.minDelay ?? MULTI_TURN_DEFAULTS.minDelay
  const maxDelay = options.maxDelay ?? Math.max(minDelay, MULTI_TURN_DEFAULTS.maxDelay)
  if (!(minDelay >= 0) || !Number.isFinite(minDelay)) throw new InputError(`expected a number ≥ 0, got ${minDelay}`, '--min-delay')
  if (!(maxDelay >= minDelay) || !Number.isFinite(maxDelay)) throw new InputError(`must be ≥ --min-delay (${minDelay}), got ${maxDelay}`, '--max-delay')
  const hooks = options.hooks ?? {}
  const documents = typeof options.documents === 'object'
    ? options.documents
    : loadSeedDocuments(options.documents ?? shippedSeedDocumentsDir(), (m) => hooks.onNotice?.(m))
  if (documents.length === 0) throw new InputError('no seed documents given', '--seed-documents')

  const settings: MultiTurnOptions = {
    ...options,
    documents: typeof options.documents === 'object' ? `${documents.length} documents` : (options.documents ?? shippedSeedDocumentsDir()),
    conversations, turns, parallel, minDelay, maxDelay,
    maxOutputTokens: options.maxOutputTokens ?? MULTI_TURN_DEFAULTS.maxOutputTokens,
    timeout: options.timeout ?? MULTI_TURN_DEFAULTS.timeout,
  }
  // A worker holds one conversation at a time: no more connections than conversations.
  const run = await openRun(settings, 'multi-turn', Math.min(parallel, conversations), hooks.onNotice)
  const reset = await run.resetCache(options.resetCacheUrl)
  // Every random choice comes from the run's seed: the plan first, then one sub-stream per
  // conversation (think times, follow-ups), so timing cannot change which conversation draws what.
  const random = createRandom(run.seed)
  const plans = planConversations(documents, conversations, random)
  await run.checkPromptCapacity(conversations)
  const streams = plans.map(() => random.fork())
  const meets = goodputRule(options.goodputSlo, 'multiTurn')
  const records: RequestRecord[] = []
  const outcomes: ConversationOutcome[] = []
  const typeOf = new Map<string, DocumentType>()

  hooks.onRoundStart?.({ label: 'Turns', concurrency: parallel, round: 1, total: conversations * turns })
  try {
    await runClosedLoop(plans, parallel, async (plan) => {
      const outcome = await converse(plan, streams[plan.index] as Random)
      outcomes.push(outcome)
      hooks.onConversationEnd?.(outcome)
    }, run.signal)
  } finally {
    await run.close()
  }

  async function converse(plan: ConversationPlan, rng: Random): Promise<ConversationOutcome> {
    const sessionId = `c${plan.index + 1}:${plan.document.name}`
    typeOf.set(sessionId, plan.document.type)
    const session = new Session(sessionId, run.tokenizer, { maxContextTokens: options.maxContextTokens })
    const outcome: ConversationOutcome = {
      index: plan.index, sessionId, document: plan.document.name, type: plan.document.type, instruction: plan.instruction,
      turnsSent: 0, turnsAnswered: 0, ended: 'completed',
    }
    let previous: string | undefined
    for (let turn = 0; turn < turns; turn++) {
      await sleep(rng.between(minDelay, maxDelay) * 1000, run.signal)
      if (run.signal.aborted) {
        outcome.ended = 'interrupted'
        break
      }
      const user = turn === 0 ? firstMessage(plan) : (previous = followUp(plan.document.type, rng, previous))
      const built = session.next(user)
      const id = `c${plan.index + 1}-t${turn + 1}`
      const round = turn === 0 ? 1 : 2
      hooks.onDebug?.({ id, session_id: sessionId, turn_index: turn, round, concurrency: parallel, messages: built.messages, context_tokens: built.contextTokens, truncated_turns: built.truncatedTurns })
      const record = await run.send(built.messages, { id, index: plan.index, sessionId, turnIndex: turn, round, concurrency: parallel })
      records.push(record)
      outcome.turnsSent++
      hooks.onRequest?.(record)
      if (record.ok) {
        outcome.turnsAnswered++
        session.reply(record.outputText)
        continue
      }
      if (record.error?.kind === 'interrupted') {
        outcome.ended = 'interrupted'
        break
      }
      if (record.error?.kind === 'context_too_long') {
        outcome.ended = 'context_too_long'
        outcome.message = record.error.message
        hooks.onNotice?.(`conversation ${sessionId} ended at turn ${turn + 1}: the prompt (${built.contextTokens} tokens by ${run.tokenizer.encoding}) plus max_tokens exceeds the server's context window (${record.error.message}). Lower --max-tokens or --turns, or set --max-context-tokens.`)
        break
      }
      outcome.ended = 'with_errors'
    }
    return outcome
  }

  const first = records.filter((r) => r.turnIndex === 0)
  const later = records.filter((r) => r.turnIndex > 0)
  const rounds: RoundResult[] = [{ ...summariseRound({ label: 'Turn1', concurrency: parallel, round: 1 }, first, meets), cacheReset: reset }]
  if (turns > 1) rounds.push(summariseRound({ label: 'Turns2+', concurrency: parallel, round: 2 }, later, meets))
  for (const [i, round] of rounds.entries()) await hooks.onRoundComplete?.(round, i === 0 ? first : later, run.context)
  const [cold, warm] = rounds
  // With a group of no successful requests the ratios are n/a (null, with the reason), never 0.
  const speedups = cold && warm ? [speedupOf(cold, warm, 'ttft', 'avg'), speedupOf(cold, warm, 'ttft', 'p50')] : []
  const result = run.result(rounds, speedups)
  result.byTurn = byTurn(records)
  result.byDocumentType = statsBy(records, (r) => typeOf.get(r.sessionId) ?? 'unknown')
    .map(({ key, stats }) => ({ type: key, requests: stats.requests, ttft: stats.ttft, latency: stats.latency }))
  const summary: ConversationSummary = {
    planned: conversations,
    started: outcomes.length,
    completed: outcomes.filter((o) => o.ended === 'completed').length,
    endedByContextLimit: outcomes.filter((o) => o.ended === 'context_too_long').length,
  }
  result.conversations = summary
  return result
}

function checkCount(n: number, flag: string): number {
  if (!Number.isInteger(n) || n < 1) throw new InputError(`expected a whole number ≥ 1, got ${n}`, flag)
  return n
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
