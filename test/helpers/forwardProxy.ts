import { createServer, request } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { connect } from 'node:net'

export interface ForwardProxy {
  url: string
  /** Requests forwarded (absolute-form http://) and tunnels opened (CONNECT, for https://). */
  forwarded(): number
  tunnels(): number
  close(): Promise<void>
}

/** A forward proxy on 127.0.0.1:0, as squid or a corporate proxy would be: absolute-form requests and CONNECT. */
export async function forwardProxy(): Promise<ForwardProxy> {
  let forwarded = 0
  let tunnels = 0
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    forwarded++
    const target = new URL(req.url ?? '')
    const upstream = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  server.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels++
    const [host, port] = String(req.url).split(':')
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwarded: () => forwarded,
    tunnels: () => tunnels,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
