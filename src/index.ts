/* fluxperf: load-test OpenAI-compatible LLM endpoints and turn the results into assertions. */

/* Workloads */
export { configureWorkloadDefaults, dualRound, runDualRound, Session, workloadDefaults } from './workloads/index.ts'
export type { DebugEntry, DualRoundInput, DualRoundOptions, EndpointSettings, RunContext, RunHooks, WorkloadDefaults } from './workloads/index.ts'
export { multiRoundQa, multiTurn, runMultiRoundQa, runMultiTurn } from './workloads/index.ts'
export type { ConversationOutcome, MultiRoundQaHooks, MultiRoundQaInput, MultiRoundQaOptions, MultiTurnHooks, MultiTurnInput, MultiTurnOptions } from './workloads/index.ts'
export { arrivalOffsets, runOpenLoop } from './schedule/index.ts'
export type { ArrivalOptions, ArrivalProcess, Clock, ScheduledSend } from './schedule/index.ts'
export type { ConversationSummary, OpenLoopSummary } from './types.ts'

/* The built-in mock serving engine */
export { mockLlmHandlers, startMockServer } from './mock/index.ts'
export type { MockServer, MockServerOptions } from './mock/index.ts'

/* Data, SLOs, baselines */
export { loadDataset, sampleConversations, validateDataset } from './data/index.ts'
export { evaluateSlo, formatSloTable, loadSloFile, parseSlo } from './slo/index.ts'
export type { GoodputSlo, SloCheck, SloSpec } from './slo/index.ts'
export { compareWithBaseline, readBaseline, writeBaseline } from './baseline/index.ts'
export type { RegressionCheck, RegressionOptions } from './baseline/index.ts'

/* Client and metrics, for custom workloads */
export { openEndpoint, requestContext, sendRequest, SseParser } from './client/index.ts'
export type { Endpoint, EndpointOptions, GenerationOptions, RequestContext, RequestMeta } from './client/index.ts'
export { mergeEncoded, MetricRecorder, percentileOfEncoded, summariseRound } from './metrics/index.ts'
export { metricsSummaryCsv } from './report/index.ts'
export { getTokenizer } from './tokens/index.ts'
export type { EncodingName, Tokenizer } from './tokens/index.ts'
export { InputError } from './errors.ts'

/* The shared vocabulary */
export type {
  CacheEvidence, CacheResetOutcome, CacheSpeedup, ChatMessage, Conversation, ErrorKind, ErrorSummary, GoodputSummary, MetricName, MetricSummary,
  RequestRecord, RoundResult, RunResult, Slo, StatName, TokenSource,
} from './types.ts'
