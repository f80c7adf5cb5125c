/** Dataset converters: ShareGPT dumps and LongBench (local files or the Hugging Face datasets server). */
export { convertShareGpt } from './sharegpt.ts'
export type { ConvertReport, ShareGptOptions } from './sharegpt.ts'
export { convertLongBench, LONGBENCH_CONFIGS } from './longbench.ts'
export type { LongBenchOptions, LongBenchReport } from './longbench.ts'
export { DownloadError, fetchAllRows, HF_DATASETS_SERVER } from './huggingface.ts'
export type { HfRowsOptions } from './huggingface.ts'
export { readJsonValues } from './jsonValues.ts'
export type { SourceValue } from './jsonValues.ts'
