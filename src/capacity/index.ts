/** Capacity: the highest load that meets an SLO (a sweep of traffic steps), and how each step was judged. */
export { sweep, SWEEP_DEFAULTS } from './sweep.ts'
export type { SweepOptions, SweepWorkload } from './sweep.ts'
export { RATE_WIDTH, samplesForTail, stepStanding, zOf } from './stepRule.ts'
export type { StepRule, StepStanding, TermInterval } from './stepRule.ts'
export { sustains } from './sustain.ts'
export type { SustainVerdict } from './sustain.ts'
