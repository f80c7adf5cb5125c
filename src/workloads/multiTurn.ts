import { statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { loadSeedDocuments, resolveDatasetPath } from '../data/index.ts'
import type { DocumentType, SeedDocument } from '../data/index.ts'
import { sleep } from '../client/index.ts'
import { InputError } from '../errors.ts'
import { speedupOf } from '../metrics/index.ts'
import { createRandom } from '../random.ts'
import type { Random } from '../random.ts'
import { runClosedLoop } from '../schedule/index.ts'
import type { MultiTurnResult, RoundResult } from '../types.ts'
import { runWorkload } from './engine.ts'
import type { RunExtras, WorkloadDefinition, WorkloadOutcome, WorkloadRun } from './engine.ts'
import { GroupedStats, turnStats } from './groupStats.ts'
import { firstMessage, followUp, planConversations } from './multiTurnPrompts.ts'
import type { ConversationPlan } from './multiTurnPrompts.ts'
import { ownedBy, shardOf, shardWorkers } from './options.ts'
import type { KeysOf, RunHooks, WorkloadSettings } from './options.ts'
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

/** The multi-turn workload (the Python multi-turn tool, 002): conversations about seed documents, turn by turn. */
export interface MultiTurnOptions extends WorkloadSettings {
  /**
   * A directory of seed documents, or documents already loaded.
   * @default `./seed-documents` of the current directory when there is one (the Python tool's default), else the
   * shipped `datasets/seed-documents`; a notice says which (see {@link loadSeedDocumentSet})
   */
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
  hooks?: MultiTurnHooks
}

/** Defaults of the multi-turn workload (the Python multi-turn tool's (002)). */
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
  return resolveDatasetPath('fluxperf:seed-documents')
}

/** The directory the Python multi-turn tool (002) reads by default, looked for in the current directory. */
export const LOCAL_SEED_DOCUMENTS = 'seed-documents'

/** The seed documents a run uses, and where they come from. */
export interface SeedDocumentSet {
  /** The directory read. */
  dir: string
  /** `given`: named by the caller; `local`: `./seed-documents` of the current directory; `shipped`: fluxperf's own. */
  source: 'given' | 'local' | 'shipped'
  documents: SeedDocument[]
}

/**
 * Loads the seed documents of `dir`; without one, those of `./seed-documents` in `cwd` when it is a directory
 * (the Python tool's default folder), else the shipped set. `notice` hears about skipped files.
 * @throws InputError naming `--seed-documents` when the directory cannot be read or holds no document
 */
export function loadSeedDocumentSet(dir: string | undefined, notice: (message: string) => void = () => {}, cwd = process.cwd()): SeedDocumentSet {
  const local = resolve(cwd, LOCAL_SEED_DOCUMENTS)
  const [chosen, source]: [string, SeedDocumentSet['source']] = dir !== undefined ? [dir, 'given'] : isDirectory(local) ? [local, 'local'] : [shippedSeedDocumentsDir(), 'shipped']
  return { dir: chosen, source, documents: loadSeedDocuments(chosen, notice) }
}

/**
 * One line saying which seed documents are used, e.g. `seed documents: ./seed-documents (12 files)`; for the shipped
 * set, also how to use one's own.
 */
export function describeSeedDocumentSet(set: SeedDocumentSet): string {
  const files = `${set.documents.length} file${set.documents.length === 1 ? '' : 's'}`
  if (set.source === 'shipped') return `seed documents: the shipped set (datasets/seed-documents in fluxperf, ${files}); put yours in ./${LOCAL_SEED_DOCUMENTS} or pass --seed-documents`
  return `seed documents: ${set.source === 'local' ? `./${LOCAL_SEED_DOCUMENTS}` : set.dir} (${files})`
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** How the settings saved with the results name documents given already loaded: their directory when they share one. */
function documentsSource(documents: readonly SeedDocument[]): string {
  const dirs = new Set(documents.map((d) => dirname(d.path)))
  const [only] = dirs
  return dirs.size === 1 && only !== undefined ? only : `${documents.length} documents`
}

type OwnKeys = Omit<MultiTurnOptions, keyof WorkloadSettings>

const KEYS: KeysOf<OwnKeys> = { documents: true, conversations: true, turns: true, parallel: true, minDelay: true, maxDelay: true, maxContextTokens: true }

/**
 * The multi-turn workload: `conversations` conversations about seed documents, each of `turns` turns
 * (the document and an instruction first, then follow-up questions, with the model's real replies in the
 * history), `parallel` at a time, a seeded think time before each request. A 400 "context too long" ends
 * that conversation and the run goes on.
 *
 * The RunResult has two groups so every matcher applies: round 1 = every turn-1 request (`Turn1`),
 * round 2 = every later turn (`Turns2+`), at concurrency `parallel`; `speedups` are turn 1 / later
 * turns TTFT (avg and p50); `byTurn` and `byDocumentType` break TTFT and latency down further.
 */
export const MULTI_TURN: WorkloadDefinition<MultiTurnOptions, MultiTurnResult> = {
  name: 'multiTurn',
  kind: 'multi-turn',
  keys: { options: KEYS, hooks: { onConversationEnd: true } satisfies KeysOf<Omit<MultiTurnHooks, keyof RunHooks>> },
  async prepare(options, seed, notice) {
    const conversations = checkCount(options.conversations ?? MULTI_TURN_DEFAULTS.conversations, '--conversations')
    const turns = checkCount(options.turns ?? MULTI_TURN_DEFAULTS.turns, '--turns')
    const parallel = checkCount(options.parallel ?? MULTI_TURN_DEFAULTS.parallel, '--parallel')
    const minDelay = options.minDelay ?? MULTI_TURN_DEFAULTS.minDelay
    const maxDelay = options.maxDelay ?? Math.max(minDelay, MULTI_TURN_DEFAULTS.maxDelay)
    if (!(minDelay >= 0) || !Number.isFinite(minDelay)) throw new InputError(`expected a number ≥ 0, got ${minDelay}`, '--min-delay')
    if (!(maxDelay >= minDelay) || !Number.isFinite(maxDelay)) throw new InputError(`must be ≥ --min-delay (${minDelay}), got ${maxDelay}`, '--max-delay')
    let documents: SeedDocument[]
    let source: string
    if (typeof options.documents === 'object') {
      documents = options.documents
      source = documentsSource(documents)
    } else {
      const set = loadSeedDocumentSet(options.documents, notice)
      // Chosen here rather than by the caller: say which set, so nobody benchmarks the shipped one unaware.
      if (set.source !== 'given') notice(describeSeedDocumentSet(set))
      documents = set.documents
      source = set.dir
    }
    if (documents.length === 0) throw new InputError('no seed documents given', '--seed-documents')
    const settings: MultiTurnOptions = {
      ...options,
      documents: source,
      conversations, turns, parallel, minDelay, maxDelay,
      maxOutputTokens: options.maxOutputTokens ?? MULTI_TURN_DEFAULTS.maxOutputTokens,
      timeout: options.timeout ?? MULTI_TURN_DEFAULTS.timeout,
    }
    // Every random choice comes from the run's seed: the plan first, then one sub-stream per
    // conversation (think times, follow-ups), so timing cannot change which conversation draws what.
    const random = createRandom(seed)
    const plans = planConversations(documents, conversations, random)
    const shard = shardOf(options.shard, 'multiTurn')
    if (shard.count > 1) {
      if (conversations < shard.count) throw new InputError(`${shard.count} shards for ${conversations} conversations: a shard would have nothing to send`, '--shard')
      shardWorkers(parallel, shard, '--parallel')
    }
    const streams = plans.map(() => random.fork())
    const shape = { turns, parallel, minDelay, maxDelay, maxContextTokens: options.maxContextTokens }
    return {
      settings,
      // A worker holds one conversation at a time: no more connections than conversations.
      inFlight: Math.min(parallel, conversations),
      distinctPrompts: conversations,
      execute: (run) => execute(run, shape, plans, streams, options.hooks ?? {}),
    }
  },
}

interface Shape {
  turns: number
  parallel: number
  minDelay: number
  maxDelay: number
  maxContextTokens: number | undefined
}

async function execute(run: WorkloadRun, shape: Shape, plans: ConversationPlan[], streams: Random[], hooks: MultiTurnHooks): Promise<WorkloadOutcome<MultiTurnResult>> {
  const { turns, parallel, minDelay, maxDelay } = shape
  const reset = await run.resetCache()
  // A shard holds its conversations (index mod n) with its share of the parallel workers.
  plans = plans.filter((p) => ownedBy(p.index, run.shard))
  const total = plans.length * turns
  const first = run.group({ label: 'Turn1', concurrency: parallel, round: 1 }, plans.length)
  const later = run.group({ label: 'Turns2+', concurrency: parallel, round: 2 }, total - plans.length)
  const byTurn = new GroupedStats<number>()
  const byType = new GroupedStats<string>()
  const outcomes: ConversationOutcome[] = []

  async function converse(plan: ConversationPlan, rng: Random): Promise<ConversationOutcome> {
    const sessionId = `c${plan.index + 1}:${plan.document.name}`
    const session = new Session(sessionId, run.tokenizer, { maxContextTokens: shape.maxContextTokens })
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
      if (run.debugging) run.debug(() => ({ id, session_id: sessionId, turn_index: turn, round, concurrency: parallel, messages: built.messages, context_tokens: built.contextTokens, truncated_turns: built.truncatedTurns }))
      const record = await (turn === 0 ? first : later).send(built.messages, { id, index: plan.index, sessionId, turnIndex: turn, round, concurrency: parallel })
      byTurn.add(turn + 1, record)
      byType.add(plan.document.type, record)
      outcome.turnsSent++
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
        run.notice(`conversation ${sessionId} ended at turn ${turn + 1}: the prompt (${built.contextTokens} tokens by ${run.tokenizer.encoding}) plus max_tokens exceeds the server's context window (${record.error.message}). Lower --max-tokens or --turns, or set --max-context-tokens.`)
        break
      }
      outcome.ended = 'with_errors'
    }
    return outcome
  }

  await run.phase('Turns', () => runClosedLoop(plans, shardWorkers(parallel, run.shard, '--parallel'), async (plan) => {
    const outcome = await converse(plan, streams[plan.index] as Random)
    outcomes.push(outcome)
    hooks.onConversationEnd?.(outcome)
  }, run.signal))

  const rounds: RoundResult[] = [await first.end(reset)]
  if (turns > 1) rounds.push(await later.end())
  const [cold, warm] = rounds
  // With a group of no successful requests the ratios are n/a (null, with the reason), never 0.
  const speedups = cold && warm ? [speedupOf(cold, warm, 'ttft', 'avg'), speedupOf(cold, warm, 'ttft', 'p50')] : []
  return {
    rounds,
    speedups,
    section: {
      byTurn: turnStats(byTurn),
      byDocumentType: byType.summary().map(({ key, stats }) => ({ type: key, requests: stats.requests, ttft: stats.ttft, latency: stats.latency, histograms: stats.histograms })),
      conversations: {
        planned: plans.length,
        started: outcomes.length,
        completed: outcomes.filter((o) => o.ended === 'completed').length,
        endedByContextLimit: outcomes.filter((o) => o.ended === 'context_too_long').length,
      },
    },
  }
}

function checkCount(n: number, flag: string): number {
  if (!Number.isInteger(n) || n < 1) throw new InputError(`expected a whole number ≥ 1, got ${n}`, flag)
  return n
}

/**
 * Runs the multiTurn workload against `options.endpoint` (no host defaults: see `multiTurn()` for the Vitest-aware
 * function) and returns its RunResult.
 */
export function runMultiTurn(options: MultiTurnOptions, extras?: RunExtras): Promise<MultiTurnResult> {
  return runWorkload(MULTI_TURN, options, extras)
}
