export { enterPrecision } from './precision.ts'
export type { Precision, PrecisionMode, PrecisionOptions } from './precision.ts'
export { confinedToOneCpu } from './scheduling.ts'
