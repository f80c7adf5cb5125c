import type { Socket } from 'node:net'

/**
 * Reads HTTP/1.1 requests off a raw server socket: calls `onRequest` with the head (request line and
 * headers, without the blank line) and the Content-Length body of each complete request, in order, as
 * they arrive. For test servers that must control every byte (and FIN) of their answers.
 */
export function onRequests(socket: Socket, onRequest: (head: string, body: string) => void): void {
  let pending = ''
  socket.setEncoding('latin1')
  socket.on('data', (data: string) => {
    pending += data
    for (;;) {
      const end = pending.indexOf('\r\n\r\n')
      if (end === -1) return
      const head = pending.slice(0, end)
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
      if (pending.length < end + 4 + length) return
      const body = pending.slice(end + 4, end + 4 + length)
      pending = pending.slice(end + 4 + length)
      onRequest(head, body)
    }
  })
}
