export { compareWithBaseline } from './compare.ts'
export type { RegressionCheck, RegressionOptions, RegressionStat } from './compare.ts'
export { baselineAction, readBaseline, writeBaseline } from './store.ts'
export type { BaselineAction } from './store.ts'
