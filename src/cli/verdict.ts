import { Option } from 'commander'
import { assessCacheSpeedup, suspectsSentence } from '../metrics/index.ts'
import { evaluateSlo, formatSloTable } from '../slo/index.ts'
import type { SloSpec } from '../slo/index.ts'
import type { RoundResult, RunResult } from '../types.ts'
import { EXIT } from './exitCodes.ts'
import { share } from './flags.ts'

/** The verdict flags, as commander hands them over. */
export interface VerdictFlags {
  maxErrorRate?: number
  allowUnverifiedColdRound?: boolean
}

/** `--max-error-rate <share>`, the same on every command. */
export function maxErrorRateOption(): Option {
  return new Option('--max-error-rate <share>', 'share of failed requests (client-side failures included) a round may have and still pass, e.g. 0.01; at 0 any failed request fails the run (exit 1) (default: 0)').argParser(share())
}

/** `--allow-unverified-cold-round`, for the commands that report a cache speedup. */
export function allowUnverifiedColdRoundOption(): Option {
  return new Option('--allow-unverified-cold-round', 'accept a cold round that neither a successful cache reset (--reset-cache, --reset-cache-url) nor the server\'s cached-token counts show to be cold (otherwise exit 1)')
}

/** What a command adds to the shared verdict. */
export interface VerdictOptions {
  /** `--max-error-rate`: the share of failed requests a round may have and still pass (0–1). @default 0 */
  maxErrorRate?: number
  /** `--allow-unverified-cold-round`: accept a cold round that neither a reset nor cached-token counts show cold. */
  allowUnverifiedColdRound?: boolean
  /** Judge the cold / warm speedup's cold rounds (run, multi-turn; not multi-round-qa, which has none). */
  coldRounds?: boolean
  /** `--slo-file`: its table is printed and a miss exits 99. */
  slo?: SloSpec
  /** Added to the PASSED line, e.g. `, 3/3 conversations completed`. */
  passedDetail?: string
}

/**
 * The verdict every command shares, printed as one last line, and its exit code. In order, the first
 * that applies decides:
 * 1. interrupted → `INTERRUPTED`, 130;
 * 2. any failed request (client-side failures such as timeouts included) in a round whose failed share
 *    exceeds `maxErrorRate` (default 0), a cold round that was not cold or not verified, or a speedup
 *    over a round with no successes → `FAILED`, 1;
 * 3. an SLO check missed → `SLO MISSED`, 99;
 * 4. otherwise `PASSED`, 0.
 * The SLO table is printed whenever an SLO was given (even when 2 decides), and a saturated client is warned about.
 */
export function commonVerdict(run: RunResult, where: string, out: NodeJS.WritableStream = process.stdout, options: VerdictOptions = {}): number {
  return judge(run, where, out, options).code
}

/**
 * {@link commonVerdict}, also returning the verdict sentence without where the reports are
 * (`SLO MISSED: 2 of 4 checks failed`), for the CI job summary: it says why in the terminal's words.
 */
export function judge(run: RunResult, where: string, out: NodeJS.WritableStream = process.stdout, options: VerdictOptions = {}): { code: number; line: string } {
  const say = (code: number, line: string): { code: number; line: string } => {
    out.write(`\n${line}; ${where}\n`)
    return { code, line }
  }
  const total = run.rounds.reduce((n, r) => n + r.total, 0)
  const failed = run.rounds.reduce((n, r) => n + r.failed, 0)
  if (run.client.saturated) {
    out.write(`\nWarning: the client was saturated (event-loop delay p99 ${run.client.eventLoopDelayP99Ms.toFixed(1)} ms, over ${run.client.boundMs} ms); timings are not trustworthy.\n`)
  }
  if (run.interrupted) return say(EXIT.interrupted, `INTERRUPTED: ${total} requests completed before the stop`)
  const checks = options.slo ? evaluateSlo(run, options.slo) : []
  if (options.slo) out.write(`\nSLO (${options.slo.where}):\n${formatSloTable(checks)}\n`)

  const failures: string[] = []
  if (total > 0 && failed === total) {
    const first = run.rounds.flatMap((r) => r.errors)[0]
    failures.push(`all ${total} requests failed (${first?.kind}: ${first?.firstMessage})`)
  } else {
    const limit = options.maxErrorRate ?? 0
    const over = run.rounds.filter((r) => r.total > 0 && r.failed / r.total > limit)
    if (over.length > 0) failures.push(`${failed} of ${total} requests failed (${over.map(errorShare).join('; ')}); ${limit === 0 ? 'no failed request is allowed without --max-error-rate' : `over --max-error-rate ${limit}`}`)
  }
  if (options.coldRounds) failures.push(...coldRoundFailures(run, options.allowUnverifiedColdRound ?? false, out))

  if (failures.length > 0) return say(EXIT.failed, `FAILED: ${failures.join('; ')}`)
  const missed = checks.filter((c) => !c.pass)
  if (missed.length > 0) return say(EXIT.sloMissed, `SLO MISSED: ${missed.length} of ${checks.length} checks failed`)
  const allowed = failed > 0 ? ` (${failed} failed, within --max-error-rate ${options.maxErrorRate})` : ''
  return say(EXIT.ok, `PASSED: ${total - failed}/${total} requests succeeded${allowed}${options.slo ? ', every SLO check met' : ''}${options.passedDetail ?? ''}`)
}

/** `Concurrency4-Round1: 3/40 timeout` for a round's failures. */
function errorShare(r: RoundResult): string {
  const top = r.errors[0]
  return `${r.label}: ${r.failed}/${r.total}${top ? ` ${top.kind}` : ''}`
}

/**
 * Prints why a cold round cannot be trusted (not cold, not verified, or a round with no successes: the
 * speedup is n/a) and which failed cold requests may have warmed the cache; returns one short reason per level.
 */
function coldRoundFailures(run: RunResult, allowUnverified: boolean, out: NodeJS.WritableStream): string[] {
  const reasons: string[] = []
  // Only levels with both groups report a speedup (`multi-turn -t 1` has no later turns: nothing to judge).
  const levels = assessCacheSpeedup(run, { metric: 'ttft', stat: 'avg', allowUnverifiedColdRound: allowUnverified }).filter((l) => l.coldLabel && l.warmLabel)
  for (const level of levels) {
    const cold = level.coldRound
    const suspects = cold && level.coldLabel ? suspectsSentence(level.coldLabel, cold) : undefined
    if (suspects) out.write(`\nNote: ${suspects}.\n`)
    if (level.valid) continue
    if (level.ratio === null) {
      reasons.push(`cache speedup n/a at concurrency ${level.concurrency} (${level.reason ?? 'no value'})`)
    } else if (cold?.status === 'warm') {
      out.write(`\nCold round: ${cold.explanation}\n`)
      reasons.push(`${level.coldLabel} was not cold (${((cold.coldShare ?? 0) * 100).toFixed(1)}% cached), so its speedup means nothing`)
    } else if (cold?.status === 'unverified') {
      out.write(`\nCold round: ${cold.explanation}\n`)
      reasons.push(`cold round not verified (${level.coldLabel})`)
    }
  }
  return reasons
}
