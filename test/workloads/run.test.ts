import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterEach, expect, test, vi } from 'vitest'
import { openRun } from '../../src/workloads/run.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A server that answers GET /v1/models and counts the connections it accepted. */
async function countingServer(): Promise<{ url: string; accepted: () => number; posts: () => number }> {
  let accepted = 0
  let posts = 0
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    if (req.method === 'POST') posts++
    res.setHeader('content-type', 'application/json')
    res.end('{"object":"list","data":[{"id":"m"}]}')
  })
  server.on('connection', (socket) => {
    accepted++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}/v1/chat/completions`, accepted: () => accepted, posts: () => posts }
}

test('a run opens its connections before its first request, so TCP set-up is not among the timed responses', async () => {
  const server = await countingServer()
  const notices: string[] = []
  const run = await openRun({ endpoint: server.url }, 1, 6, (m) => notices.push(m))
  cleanups.push(async () => {
    await run.close()
  })
  // The server's accept events may trail the client's connects by a turn of the loop.
  await vi.waitFor(() => expect(server.accepted()).toBe(6))
  expect(server.posts()).toBe(0)
  expect(run.model).toBe('m')
  expect(notices).toEqual([])
})

test('without keep-alive nothing is opened ahead: every request brings its own connection', async () => {
  const server = await countingServer()
  const run = await openRun({ endpoint: server.url, keepAlive: false }, 1, 6)
  cleanups.push(async () => {
    await run.close()
  })
  // Only the model lookup's connection.
  expect(server.accepted()).toBe(1)
})
