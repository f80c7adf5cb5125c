import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import { onRequests } from './rawRequests.ts'

/**
 * How a conformance server treats its connections: each option imitates a real serving stack that
 * fluxperf once got wrong (see the README's "Real servers").
 */
export interface ConnectionPolicy {
  /** Close the socket after every streamed response (llama.cpp's cpp-httplib does, while advertising keep-alive). */
  closeAfterResponse?: boolean
  /** How long after the last byte to close, ms: 0 sends the FIN with the response's last bytes. @default 0 */
  closeDelayMs?: number
  /** A `Keep-Alive` response header, e.g. `timeout=5, max=100`. */
  keepAliveHeader?: string
  /** Close connections idle this long, ms, without a hint (uvicorn: 5 s). */
  idleTimeoutMs?: number
  /**
   * Which requests to drop (close the connection without answering): `reused` says whether it came on
   * a connection that carried an earlier one, `index` counts the server's requests from 0. Imitates a
   * server closing an idle connection just as a request goes out on it.
   */
  drop?: (request: { reused: boolean; index: number }) => boolean
  /** Tokens per answer. @default 3 */
  tokens?: number
  /** Serve https:// with this key and certificate (PEM). */
  tls?: { key: string; cert: string }
  /** `owned_by` in `/v1/models` (how engines name themselves there). @default 'conformance' */
  ownedBy?: string
}

export interface SseServer {
  url: string
  /** Requests answered, connections accepted, and requests dropped unanswered. */
  answered(): number
  accepted(): number
  dropped(): number
  /** Requests to vLLM's `POST /reset_prefix_cache` (answered 200). */
  resets(): number
  close(): Promise<void>
}

/** An OpenAI-style streaming chat server on 127.0.0.1:0, written on raw sockets so every byte and FIN is ours. */
export async function sseServer(policy: ConnectionPolicy = {}): Promise<SseServer> {
  let answered = 0
  let accepted = 0
  let dropped = 0
  let requests = 0
  let resets = 0
  const sockets = new Set<Socket>()
  const onConnection = (socket: Socket): void => {
    accepted++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    let served = 0
    let closing = false
    let idle: ReturnType<typeof setTimeout> | undefined
    const armIdle = (): void => {
      if (policy.idleTimeoutMs === undefined) return
      idle = setTimeout(() => {
        closing = true
        socket.end()
      }, policy.idleTimeoutMs)
    }
    armIdle()
    onRequests(socket, (head) => {
      // Like a server that has decided to close: whatever arrives now is never read.
      if (closing || socket.destroyed) return
      clearTimeout(idle)
      if (policy.drop?.({ reused: served > 0, index: requests++ })) {
        dropped++
        socket.destroy()
        return
      }
      served++
      if (head.startsWith('POST /reset_prefix_cache')) {
        resets++
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')
      } else if (head.startsWith('GET /v1/models')) {
        const body = JSON.stringify({ object: 'list', data: [{ id: 'conformance-model', owned_by: policy.ownedBy ?? 'conformance' }] })
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
      } else if (!head.startsWith('POST ')) {
        // Engine probes (/metrics, /info, ...): not this server's.
        socket.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n')
      } else {
        answered++
        const close = /\r\nconnection: *close/i.test(head)
        socket.write(streamedAnswer(policy, close))
        if (policy.closeAfterResponse || close) {
          closing = true
          if (policy.closeDelayMs) setTimeout(() => socket.destroy(), policy.closeDelayMs)
          else socket.end()
          return
        }
      }
      armIdle()
    })
  }
  const server: Server = policy.tls ? createTlsServer(policy.tls, onConnection) : createServer(onConnection)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `${policy.tls ? 'https' : 'http'}://127.0.0.1:${port}/v1/chat/completions`,
    answered: () => answered,
    accepted: () => accepted,
    dropped: () => dropped,
    resets: () => resets,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** A chunked SSE answer: role chunk, `tokens` content chunks, a finish chunk with usage, `[DONE]`. */
function streamedAnswer(policy: ConnectionPolicy, close: boolean): string {
  const tokens = policy.tokens ?? 3
  const events = [JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant' } }] })]
  for (let i = 0; i < tokens; i++) events.push(JSON.stringify({ choices: [{ index: 0, delta: { content: ` t${i}` } }] }))
  events.push(JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: tokens, total_tokens: 5 + tokens } }))
  events.push('[DONE]')
  let body = ''
  for (const event of events) {
    const text = `data: ${event}\n\n`
    body += `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`
  }
  body += '0\r\n\r\n'
  const headers = ['HTTP/1.1 200 OK', 'content-type: text/event-stream', 'transfer-encoding: chunked']
  if (close) headers.push('connection: close')
  else if (policy.keepAliveHeader) headers.push('connection: keep-alive', `keep-alive: ${policy.keepAliveHeader}`)
  return `${headers.join('\r\n')}\r\n\r\n${body}`
}
