/** The built-in mock serving engine: an HTTP server, and msw handlers over the same engine. */

export { startMockServer } from './server.ts'
export type { MockServer } from './server.ts'
export type { MockServerOptions } from './options.ts'
export { MOCK_DEFAULTS } from './options.ts'
export type { ReasoningField } from './chunks.ts'
export { mockLlmHandlers } from './msw.ts'
export type { MockLlmHandlersOptions } from './msw.ts'
export type { MockStats } from './app.ts'
export { mockEchoTag } from './output.ts'
export { mockSaturation } from './capacity.ts'
export type { MockSaturation, MockWorkload } from './capacity.ts'
