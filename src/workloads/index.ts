export { runDualRound } from './dualRound.ts'
export { Session } from './session.ts'
export type { BuiltRequest, ContextLimits } from './session.ts'
export type { DebugEntry, DualRoundOptions, EndpointSettings, RunContext, RunHooks } from './options.ts'
