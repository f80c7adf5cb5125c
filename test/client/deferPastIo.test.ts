import { createConnection, createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { deferPastIo } from '../../src/client/deferPastIo.ts'

const loopCount = (): number => performance.nodeTiming.uvMetricsInfo.loopCount
/** Keeps the thread busy for `ms`. */
const spin = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until) { /* busy */ }
}

/** Queues `n` jobs that record their index and loop iteration; resolves after the last. */
function queue(n: number, work: () => void = () => {}): Promise<{ job: number; loop: number }[]> {
  const ran: { job: number; loop: number }[] = []
  return new Promise((resolve) => {
    for (let job = 0; job < n; job++) deferPastIo(() => {
      work()
      ran.push({ job, loop: loopCount() })
      if (job === n - 1) resolve(ran)
    })
    expect(ran).toEqual([]) // nothing runs synchronously
  })
}

describe('deferPastIo', () => {
  test('runs jobs later, in order; cheap jobs share an iteration', async () => {
    const ran = await queue(200)
    expect(ran.map((r) => r.job)).toEqual(Array.from({ length: 200 }, (_, i) => i))
    // Each of 200 empty jobs would have to be preempted past the budget to get an iteration of its own.
    expect(new Set(ran.map((r) => r.loop)).size).toBeLessThan(200)
  })

  test('a job longer than the budget ends its iteration', async () => {
    const ran = await queue(3, () => spin(1))
    expect(new Set(ran.map((r) => r.loop)).size).toBe(3)
  })

  test("a job's promise reactions run before the next job, inside the budget", async () => {
    const order: string[] = []
    await new Promise<void>((resolve) => {
      deferPastIo(() => {
        order.push('job 1')
        void Promise.resolve().then(() => order.push('reaction 1'))
      })
      deferPastIo(() => {
        order.push('job 2')
        resolve()
      })
    })
    expect(order).toEqual(['job 1', 'reaction 1', 'job 2'])
  })

  test('a job that throws does not stop the ones after it', async () => {
    const errors: unknown[] = []
    const onError = (error: unknown): void => { errors.push(error) }
    process.on('uncaughtException', onError)
    try {
      deferPastIo(() => { throw new Error('boom') })
      const errorsSeenByNextJobs: number[] = []
      const after = await queue(2, () => errorsSeenByNextJobs.push(errors.length))
      expect(after.map((r) => r.job)).toEqual([0, 1])
      expect(errors).toHaveLength(1)
      expect(errorsSeenByNextJobs).toEqual([1, 1]) // raised before the next job ran
    } finally {
      process.off('uncaughtException', onError)
    }
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
          sender.write('a')
          spin(5) // time for the bytes to reach the other socket, however loaded the machine
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
