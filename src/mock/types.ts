/**
 * What a transport hands the mock and gets back: `server.ts` (node:http) and `msw.ts` (msw handlers) turn
 * their requests into a `MockCall` and write out the `MockReply` that `app.ts` and `generation.ts` build.
 */

/** One incoming request, whatever carried it. */
export interface MockCall {
  method: string
  /** The path without the query string. */
  path: string
  /** A request header by lowercase name. */
  header(name: string): string | undefined
  body(): Promise<string>
}

/** Where a stream's bytes go. */
export interface StreamSink {
  write(data: string): void
  end(): void
  /** Drop the connection abruptly. */
  destroy(): void
}

export type MockReply =
  | { kind: 'body'; status: number; headers: Record<string, string>; body: string }
  /** An SSE stream: `start` begins it and returns a function to call when the client goes away. */
  | { kind: 'stream'; headers: Record<string, string>; start(sink: StreamSink): () => void }
  /** Drop the connection without a response. */
  | { kind: 'drop' }
