/* fluxperf: load-test OpenAI-compatible LLM endpoints and turn the results into assertions. */

/* Workloads */
export { configureWorkloadDefaults, dualRound, runDualRound, runWorkload, Session, workloadDefaults } from './workloads/index.ts'
export { DUAL_ROUND, MULTI_ROUND_QA, MULTI_TURN } from './workloads/index.ts'
export type {
  DebugEntry, DualRoundInput, DualRoundOptions, EndpointSettings, ShardSpec, MeasuredGroup, PreparedWorkload, RunContext, RunExtras, RunHooks, WorkloadDefaults,
  WorkloadDefinition, WorkloadOutcome, WorkloadRun, WorkloadSettings,
} from './workloads/index.ts'
export { multiRoundQa, multiTurn, runMultiRoundQa, runMultiTurn, runTraffic, traffic, TRAFFIC } from './workloads/index.ts'
export type { TrafficHooks, TrafficInput, TrafficOptions, TrafficSnapshot } from './workloads/index.ts'
export type { ConversationOutcome, MultiRoundQaHooks, MultiRoundQaInput, MultiRoundQaOptions, MultiTurnHooks, MultiTurnInput, MultiTurnOptions, QaSnapshot } from './workloads/index.ts'
export type { PrecisionMode } from './client/index.ts'
export { arrivalOffsets, parseStages, runOpenLoop, stagedOffsets } from './schedule/index.ts'
export type { ArrivalOptions, ArrivalProcess, Clock, RateStage, ScheduledSend } from './schedule/index.ts'
export type { ConversationSummary, OpenLoopSummary } from './types.ts'

/* Shards merged into the run they make up; a run read back */
export { loadRun, mergeRounds, mergeRuns, ShardMissingError } from './merge/index.ts'
export type { MergedRun, ShardRun } from './merge/index.ts'

/* Capacity: the highest load that meets an SLO */
export { sweep, SWEEP_DEFAULTS } from './capacity/index.ts'
export type { SweepOptions, SweepWorkload } from './capacity/index.ts'
export { capacityCsv, formatCapacity } from './report/index.ts'

/* The built-in mock serving engine */
export { mockLlmHandlers, mockSaturation, startMockServer } from './mock/index.ts'
export type { MockSaturation, MockServer, MockServerOptions, MockWorkload } from './mock/index.ts'

/* Data, SLOs, baselines */
export { impliedPrefixShare, loadDataset, loadTrace, parseTrace, resolveDatasetPath, sampleConversations, shippedDatasetNames, tracePrompts, validateDataset } from './data/index.ts'
export type { Trace, TraceEntry, TracePrompts } from './data/index.ts'
export { evaluateSlo, formatSloTable, loadSloFile, parseSlo } from './slo/index.ts'
export type { GoodputSlo, SloCheck, SloSpec } from './slo/index.ts'
export { compareRuns, compareWithBaseline, configDifferences, formatConfigDifferences, readBaseline, upgradeRunResult, writeBaseline } from './baseline/index.ts'
export type { ChangeVerdict, ConfigDifference, RegressionCheck, RegressionOptions, RunComparison, RunComparisonRow } from './baseline/index.ts'

/* Client and metrics, for custom workloads */
export { apiEndpointUrl, firstModelId, openEndpoint, requestContext, sendRequest, SseParser } from './client/index.ts'
export type { Endpoint, EndpointOptions, GenerationOptions, RequestContext, RequestMeta } from './client/index.ts'
export { mergeEncoded, MetricRecorder, percentileOfEncoded, summariseRound } from './metrics/index.ts'
export { formatRound, metricsSummaryCsv, QaFiles, qaFinalSummary, RequestTexts, RoundFileWriter } from './report/index.ts'
export { getTokenizer } from './tokens/index.ts'
export type { EncodingName, Tokenizer } from './tokens/index.ts'
export { InputError } from './errors.ts'

/* The shared vocabulary */
export type {
  CacheEvidence, CacheResetOutcome, CacheSpeedup, ChatMessage, ClientSummary, Conversation, DualRoundResult, ErrorKind, ErrorSummary, GoodputSummary,
  MetricName, MetricSummary, MultiRoundQaResult, MultiTurnResult, PrecisionSummary, QaSchedule, RequestRecord, RoundResult, RunResult, RunResultCommon,
  CapacityCheck, CapacityResult, CapacityStep, SaturationSummary, ShardInfo, Slo, SloThresholds, StatName, TokenSource, TrafficResult, TrafficSchedule, TransportSummary, TurnStats, WorkloadKind,
} from './types.ts'

/*
 * The matchers' types (`expect(run).toMeetSlo(...)`) reach every file that imports from 'fluxperf', not only
 * a program that also includes vitest.config.ts: a type-only export, erased at run time, so the CLI and
 * plain scripts never load Vitest.
 */
export type { FluxperfProvided, FluxperfTaskMeta } from './vitest/augment.ts'
