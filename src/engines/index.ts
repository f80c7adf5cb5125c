export { ENGINES, isEngineName, rootPath } from './adapters.ts'
export type { EngineAdapter, EngineName } from './adapters.ts'
export { detectEngine } from './detect.ts'
export type { DetectedEngine } from './detect.ts'
