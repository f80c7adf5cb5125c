import { confinedToOneCpu } from '../client/index.ts'
import type { Progress } from './progress.ts'

/**
 * Says what a workload command does before its first request, as progress status lines (none with
 * `--no-progress`): the tokenizer's rank tables take ~0.4 s to build (o200k_base), most of the start; the client
 * warms up for about half a second (a second with precision on); then any `--warmup` requests. Without these lines
 * a CI log showed nothing until the first round ended.
 */
export function announceStart(flags: { tokenizer: string; precision: 'off' | 'auto' | 'on' | false; warmClient: boolean; warmup: number }, progress: Progress): void {
  progress.status(`loading tokenizer (${flags.tokenizer})…`)
  if (flags.precision === 'on' || (flags.precision === 'auto' && confinedToOneCpu())) {
    progress.status('precision on: the client warms up before the clock starts (about 1 s; --no-precision skips it)…')
  } else if (flags.warmClient) {
    progress.status('the client warms up before the clock starts (about 0.5 s over loopback; --no-warm-client skips it)…')
  }
  if (flags.warmup > 0) progress.status(`${flags.warmup} warm-up request${flags.warmup === 1 ? '' : 's'} before the clock starts…`)
}
