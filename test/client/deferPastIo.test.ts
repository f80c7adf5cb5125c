import { createConnection, createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { deferPastIo } from '../../src/client/deferPastIo.ts'

const loopCount = (): number => performance.nodeTiming.uvMetricsInfo.loopCount

describe('deferPastIo', () => {
  test('runs jobs later, in order, one per event-loop iteration', async () => {
    const ran: { job: number; loop: number }[] = []
    const done = new Promise<void>((resolve) => {
      for (let job = 0; job < 5; job++) deferPastIo(() => {
        ran.push({ job, loop: loopCount() })
        if (job === 4) resolve()
      })
    })
    expect(ran).toEqual([]) // nothing runs synchronously
    await done
    expect(ran.map((r) => r.job)).toEqual([0, 1, 2, 3, 4])
    const loops = ran.map((r) => r.loop)
    expect(new Set(loops).size).toBe(5)
  })

  describe('with a loopback connection', () => {
    let server: ReturnType<typeof createServer>
    let received: Socket
    let sender: Socket
    beforeAll(async () => {
      server = createServer()
      const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve))
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      sender = createConnection({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' })
      sender.setNoDelay(true)
      received = await accepted
    })
    afterAll(async () => {
      sender.destroy()
      received.destroy()
      await new Promise((resolve) => server.close(resolve))
    })

    test('bytes that arrive while a job runs are read before the next job', async () => {
      const order: string[] = []
      received.on('data', (data) => order.push(`read ${data.toString()}`))
      await new Promise<void>((resolve) => {
        deferPastIo(() => {
          order.push('job 1')
          sender.write('a') // on loopback the bytes are in the receiver's queue when write returns
        })
        deferPastIo(() => {
          order.push('job 2')
          resolve()
        })
      })
      expect(order).toEqual(['job 1', 'read a', 'job 2'])
    })
  })
})
