import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { exactTokenText, loadDataset } from '../../src/data/index.ts'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer, MockServerOptions } from '../../src/mock/index.ts'
import { createRandom } from '../../src/random.ts'
import { QA_CSV_COLUMNS, QaFiles } from '../../src/report/index.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import type { RequestRecord } from '../../src/types.ts'
import { multiRoundQa, runMultiRoundQa } from '../../src/workloads/index.ts'
import type { DebugEntry, MultiRoundQaOptions } from '../../src/workloads/index.ts'
import { manualClock } from '../helpers/clock.ts'

const FAST: MockServerOptions = { prefillTokensPerS: 1e6, baseLatencyMs: 0, itlMs: 0.3, itlPerSeqMs: 0, jitter: 0 }
const tokenizer = await getTokenizer()
const tmp = mkdtempSync(join(tmpdir(), 'fluxperf-qa-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let mock: MockServer | undefined
afterEach(async () => {
  await mock?.close()
  mock = undefined
})

async function endpoint(options: MockServerOptions = {}): Promise<string> {
  mock = await startMockServer({ port: 0, ...FAST, ...options })
  return `${mock.url}/v1/chat/completions`
}

/** Polls (no time limit of its own: the test timeout is the bound) until `ready()` holds. */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setTimeout(resolve, 2))
}

const csvRows = (path: string): Record<string, string>[] => {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n')
  const cols = (head as string).split(',')
  return rows.map((line) => Object.fromEntries(line.split(',').map((v, i) => [cols[i], v])))
}

describe('synthetic prompts of exact token length', () => {
  test('exactTokenText has exactly n tokens, and with a leading space adds exactly n to text ending in a word', () => {
    for (const n of [1, 2, 7, 100, 1000, 3000]) {
      const text = exactTokenText(tokenizer, n, createRandom(n))
      expect(tokenizer.count(text)).toBe(n)
      const more = exactTokenText(tokenizer, n, createRandom(n + 1), { leadingSpace: true })
      expect(tokenizer.count(text + more)).toBe(2 * n)
    }
    expect(exactTokenText(tokenizer, 0, createRandom(1))).toBe('')
  })
})

describe('multi-round QA against the mock', () => {
  test('a short real-time run: every send on time, the rate met, prompts exact, history carried, files written', async () => {
    const debug: DebugEntry[] = []
    const summaries: string[] = []
    const csv = join(tmp, 'rt', 'summary.csv')
    mkdirSync(join(tmp, 'rt'), { recursive: true })
    // The files are the report layer's: written from the workload's events as the run goes.
    const files = new QaFiles(join(tmp, 'rt'), csv, 5)
    const run = await runMultiRoundQa({
      endpoint: await endpoint(), model: 'llama3', qps: 5, time: 3, numUsers: 4, numRounds: 3, sharedSystemPrompt: 120, userHistoryPrompt: 80,
      answerLen: 8, seed: 3, initUserId: 100, logInterval: 1,
      hooks: {
        onDebug: (e) => debug.push(e), onRoundStart: () => files.open(), onSendSettled: (send, record) => files.settled(send, record),
        onInterval: (snapshot) => summaries.push(files.interval(snapshot)),
      },
    })
    summaries.push(files.finish(run))
    const o = run.openLoop
    // Constant arrivals at 0, 200, ..., 2800 ms; each user sends every 4 / 5 = 0.8 s, and an answer takes a few ms.
    expect([o.scheduled, o.sent, o.late, o.dropped]).toEqual([15, 15, 0, 0])
    expect(o.targetRate).toBe(5)
    // The window ends at the stop timer, which may fire a few µs before 3 s by the monotonic clock.
    expect(o.achievedRate).toBeCloseTo(5, 6)
    expect(o.scheduleLag.count).toBe(15)
    expect(o.latencyFromScheduled.avg).toBeGreaterThanOrEqual(run.rounds[0]!.metrics.latency!.avg)
    expect(run.workload).toBe('multi-round-qa')
    expect(run.rounds.map((r) => [r.label, r.concurrency, r.total, r.failed])).toEqual([['QPS5.00', 0, 15, 0]])
    expect(run.model).toBe('llama3')

    // Prompts: one system message = shared prompt (120 tokens, same for all) + own history (80 tokens, unique).
    const systems = new Map(debug.map((e) => [e.session_id, e.messages[0]!.content]))
    expect(systems.size).toBe(7) // 4 slots, 3 questions each: 15 sends bring users 100–106
    const shared = new Set<string>()
    for (const content of systems.values()) {
      expect(tokenizer.count(content)).toBe(200)
      const tokens = tokenizer.encode(content)
      shared.add(tokenizer.decode(tokens.slice(0, 120)))
    }
    expect(shared.size).toBe(1)
    expect(new Set(systems.values()).size).toBe(7)
    // Each round carries the whole conversation so far: system + (question, answer) × q + question.
    for (const e of debug) expect(e.messages.length).toBe(2 + 2 * e.turn_index)
    expect(debug.every((e) => e.messages.at(-1)!.content === `Here's question #${e.turn_index + 1}: can you tell me a new long story with a happy ending?`)).toBe(true)

    // The seed's files.
    const rt = readFileSync(join(tmp, 'rt', 'realtime_stats_qps_5.00.txt'), 'utf8').trim().split('\n')
    expect(rt).toHaveLength(16)
    expect(rt[1]).toMatch(/^\S+Z user=10\d request=u10\d-q1 question=1 prompt_tokens=\d+ generation_tokens=8 cached_tokens=\d+ ttft_ms=[\d.]+ tpot_ms=[\d.]+ itl_ms=[\d.]+ generation_speed=[\d.]+ schedule_lag_ms=[\d.]+$/)
    const final = readFileSync(join(tmp, 'rt', 'final_performance_summary_qps_5.00.txt'), 'utf8')
    for (const line of ['Configuration:', 'num_users: 4', 'Successful requests: 15', 'Total generated tokens: 120', 'Request throughput:', 'Output token throughput:',
      'Time to First Token (TTFT):', 'Time per Output Token', 'Inter-token Latency (ITL):', 'Median:', 'P99:', 'Target QPS: 5.00', 'Achieved QPS: 5.00',
      'Scheduled sends: 15 | sent: 15 | late: 0 | dropped: 0', 'Schedule lag', 'Latency from intended send']) {
      expect(final).toContain(line)
    }
    expect(summaries.at(-1)).toBe(final)
    // Periodic summaries every second of a 3 s run (at least one, whatever the machine's load).
    expect(readFileSync(join(tmp, 'rt', 'performance_summary_qps_5.00.txt'), 'utf8')).toMatch(/Performance summary at/)
    const header = readFileSync(csv, 'utf8').split('\n')[0]
    expect(header).toBe(QA_CSV_COLUMNS.join(','))
    const rows = csvRows(csv)
    expect(rows).toHaveLength(15)
    expect(rows.every((r) => r['outcome'] === 'ok' && r['late'] === 'false' && r['generation_tokens'] === '8')).toBe(true)
    expect(new Set(rows.map((r) => r['user_id']))).toEqual(new Set(['100', '101', '102', '103', '104', '105', '106']))
  })

  test('late and dropped sends: a user still streaming makes its next send wait (late); a send still waiting at the end is dropped', async () => {
    const clock = manualClock()
    const records: RequestRecord[] = []
    const csv = join(tmp, 'late', 'summary.csv')
    // One user, a send every 100 ms (virtual), schedule 500 ms long: sends at 0, 100, 200, 300, 400.
    const files = new QaFiles(undefined, csv, 10)
    const done = runMultiRoundQa({
      // Each answer takes 500 ms of real time, so it is still streaming when the virtual clock moves on (the test's
      // polling lets I/O run: with the fast mock, an answer could end between two steps and make a send on time).
      endpoint: await endpoint({ baseLatencyMs: 500 }), model: 'm', qps: 10, time: 0.5, numUsers: 1, numRounds: 10, sharedSystemPrompt: 10, userHistoryPrompt: 10,
      answerLen: 4, seed: 1, clock, hooks: { onRequest: (r) => records.push(r), onSendSettled: (send, record) => files.settled(send, record) },
    }).then((run) => {
      files.finish(run)
      return run
    })
    await until(() => clock.sleeping() === 1) // send 0 went out at 0; the schedule sleeps until 100
    await clock.advance(100) // send 1: the answer to send 0 is still streaming → waits, late
    await clock.advance(200) // send 2: waits behind send 1, late
    await until(() => records.length === 3) // sends 1 and 2 went out as soon as the previous answer ended
    await clock.advance(300) // send 3: the user is free → on time
    await clock.advance(400) // send 4: send 3 still streaming → waits
    await clock.advance(500) // the schedule ends: send 4 never went out → dropped
    const run = await done
    const o = run.openLoop
    expect([o.scheduled, o.sent, o.late, o.dropped]).toEqual([5, 4, 2, 1])
    expect(o.achievedRate).toBe(8) // 4 sends in 0.5 s, against 10
    expect(records.map((r) => r.id)).toEqual(['u0-q1', 'u0-q2', 'u0-q3', 'u0-q4'])
    // Send 1 was due at 100 and went out at 200 (when send 0's answer had ended): a lag of 100 ms (virtual),
    // plus the real time each request spent in the client before its write (a fraction of a millisecond).
    const clientMs = (i: number): number => records[i]!.queuedMs ?? 0
    expect(o.scheduleLag.max).toBeCloseTo(100 + clientMs(1), 6)
    expect(records[1]!.scheduledAt! - records[0]!.scheduledAt!).toBe(100)
    const rows = csvRows(csv)
    expect(rows.map((r) => [r['question_id'], r['outcome'], r['late'], r['schedule_lag_ms']])).toEqual([
      ['1', 'ok', 'false', clientMs(0).toFixed(2)], ['2', 'ok', 'true', (100 + clientMs(1)).toFixed(2)], ['3', 'ok', 'true', clientMs(2).toFixed(2)],
      ['4', 'ok', 'false', clientMs(3).toFixed(2)], ['5', 'dropped', 'false', ''],
    ])
  })

  test('--sharegpt: questions come from the dataset, in order within a user', async () => {
    const path = 'datasets/formats/sharegpt.jsonl'
    const questions = new Set((await loadDataset(path)).flatMap((c) => c.userMessages))
    const debug: DebugEntry[] = []
    const clock = manualClock()
    const done = runMultiRoundQa({
      endpoint: await endpoint(), model: 'm', qps: 100, time: 0.03, numUsers: 3, numRounds: 2, sharedSystemPrompt: 5, userHistoryPrompt: 5,
      answerLen: 2, seed: 2, sharegpt: path, clock, hooks: { onDebug: (e) => debug.push(e) },
    })
    await until(() => clock.sleeping() === 1)
    await clock.advance(10)
    await clock.advance(20)
    await clock.advance(30)
    const run = await done
    expect(run.openLoop.scheduled).toBe(3)
    expect(debug).toHaveLength(3)
    for (const e of debug) expect(questions.has(e.messages.at(-1)!.content)).toBe(true)
  })

  test('the library wrapper multiRoundQa() meets an SLO; bad options name their flag', async () => {
    const run = await multiRoundQa({ endpoint: await endpoint(), model: 'm', qps: 20, time: 0.5, numUsers: 5, numRounds: 2, answerLen: 4, seed: 4 })
    expect(run.openLoop.scheduled).toBe(10)
    expect(run).toMeetSlo({ errorRate: ['rate < 0.01'], ttft: ['p(99) < 5000'] })
    const base: MultiRoundQaOptions = { endpoint: 'http://127.0.0.1:9/v1/chat/completions', model: 'm', qps: 1 }
    await expect(runMultiRoundQa({ ...base, qps: 0 })).rejects.toThrow(/--qps/)
    await expect(runMultiRoundQa({ ...base, numUsers: 0 })).rejects.toThrow(/--num-users/)
    await expect(runMultiRoundQa({ ...base, arrival: 'uniform' as never })).rejects.toThrow(/--arrival/)
    await expect(runMultiRoundQa({ ...base, sharegpt: join(tmp, 'missing.jsonl') })).rejects.toThrow(/missing\.jsonl/)
  })
})
