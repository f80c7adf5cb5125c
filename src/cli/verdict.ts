import type { RunResult } from '../types.ts'
import { EXIT } from './exitCodes.ts'

/**
 * The verdict every command shares: warns when the client was saturated, and decides the exit code
 * when the run was interrupted (130) or every request failed (1). Returns undefined when the command's
 * own checks (SLOs, rates) should decide.
 */
export function commonVerdict(run: RunResult, where: string, out: NodeJS.WritableStream = process.stdout): number | undefined {
  const total = run.rounds.reduce((n, r) => n + r.total, 0)
  const failed = run.rounds.reduce((n, r) => n + r.failed, 0)
  if (run.clientSaturated) {
    out.write(`\nWarning: the client was saturated (event-loop delay p99 ${run.eventLoopDelayP99Ms.toFixed(1)} ms); timings are not trustworthy.\n`)
  }
  if (run.interrupted) {
    out.write(`\nINTERRUPTED: ${total} requests completed before the stop; ${where}\n`)
    return EXIT.interrupted
  }
  if (total > 0 && failed === total) {
    const first = run.rounds.flatMap((r) => r.errors)[0]
    out.write(`\nFAILED: all ${total} requests failed (${first?.kind}: ${first?.firstMessage}); ${where}\n`)
    return EXIT.failed
  }
  return undefined
}
