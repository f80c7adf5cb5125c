/**
 * msw handlers over the same engine as the HTTP server, for in-process contract tests of a client
 * that uses `globalThis.fetch` (msw's `setupServer` does not see undici's own Pool/request; see
 * docs/design/mock.md#msw-handlers). Streams are real `ReadableStream` SSE bodies paced by the engine.
 *
 * msw is loaded when `mockLlmHandlers` is called, not when fluxperf is imported, so that only
 * the users of this function need msw installed.
 */

import { createRequire } from 'node:module'
import type { HttpHandler, HttpResponse as HttpResponseClass, http as httpNamespace } from 'msw'
import { MockApp } from './app.ts'
import { type MockServerOptions, resolveMockOptions } from './options.ts'
import type { MockCall, MockReply } from './types.ts'

export interface MockLlmHandlersOptions extends Omit<MockServerOptions, 'host' | 'port'> {
  /**
   * Origin (and optional path prefix) the handlers answer for, e.g. `http://llm.test:8000`.
   * A trailing `/v1` is ignored. The default matches any origin.
   * @default '*'
   */
  baseUrl?: string
}

interface Msw {
  http: typeof httpNamespace
  HttpResponse: typeof HttpResponseClass
}

const ROUTES: { method: 'get' | 'post'; path: string }[] = [
  { method: 'get', path: '/health' },
  { method: 'get', path: '/v1/models' },
  { method: 'get', path: '/metrics' },
  { method: 'get', path: '/stats' },
  { method: 'post', path: '/v1/chat/completions' },
  { method: 'post', path: '/v1/completions' },
  { method: 'post', path: '/v1/responses' },
  { method: 'post', path: '/reset' },
  { method: 'post', path: '/reset_prefix_cache' },
]

/**
 * msw request handlers that answer like `startMockServer` (same routes, options, headers and faults).
 * Use with `setupServer(...mockLlmHandlers())` from `msw/node`.
 */
export function mockLlmHandlers(options: MockLlmHandlersOptions = {}): HttpHandler[] {
  const { baseUrl = '*', ...rest } = options
  const app = new MockApp(resolveMockOptions(rest))
  const msw = loadMsw()
  const base = baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '')
  return ROUTES.map(({ method, path }) =>
    msw.http[method](`${base}${path}`, async ({ request }) => {
      const call: MockCall = {
        method: request.method,
        path,
        header: (name) => request.headers.get(name) ?? undefined,
        body: () => request.text(),
      }
      return toResponse(msw, await app.handle(call, request.signal))
    }),
  )
}

function loadMsw(): Msw {
  try {
    return createRequire(import.meta.url)('msw') as Msw
  } catch (error) {
    throw new Error(`mockLlmHandlers needs the msw package (npm install -D msw): ${(error as Error).message}`)
  }
}

function toResponse(msw: Msw, reply: MockReply): Response {
  switch (reply.kind) {
    case 'drop':
      return msw.HttpResponse.error()
    case 'body':
      return new msw.HttpResponse(reply.body === '' ? null : reply.body, {
        status: reply.status,
        headers: reply.headers,
      })
    case 'stream': {
      const encoder = new TextEncoder()
      let cancel = (): void => {}
      let open = true
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          cancel = reply.start({
            write(data) {
              if (open) controller.enqueue(encoder.encode(data))
            },
            end() {
              if (!open) return
              open = false
              controller.close()
            },
            destroy() {
              if (!open) return
              open = false
              // Erroring a stream discards what is still queued: let the reader take it first.
              const fail = (): void => {
                if ((controller.desiredSize ?? 1) < 1) setTimeout(fail, 1)
                else controller.error(new TypeError('mock: connection dropped'))
              }
              fail()
            },
          })
        },
        cancel() {
          open = false
          cancel()
        },
      })
      return new msw.HttpResponse(body, { status: 200, headers: reply.headers })
    }
  }
}
