import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { JsonlWriter } from '../../src/report/jsonl.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fluxperf-jsonl-'))
})
afterEach(() => {
  vi.useRealTimers()
  rmSync(dir, { recursive: true, force: true })
})

const lines = (path: string): unknown[] => readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown)

test('a record reaches the file within 0.1 s without close, as one complete line', () => {
  vi.useFakeTimers()
  const path = join(dir, 'a.jsonl')
  const writer = new JsonlWriter(path)
  writer.write({ id: 'r1', ok: true })
  // Not at once: the moment a request ends, other streams are still being read.
  expect(readFileSync(path, 'utf8')).toBe('')
  vi.advanceTimersByTime(100)
  expect(readFileSync(path, 'utf8')).toBe('{"id":"r1","ok":true}\n')
  writer.close()
})

test('a backlog is written a few dozen lines per event-loop turn, in order', () => {
  vi.useFakeTimers()
  const path = join(dir, 'b.jsonl')
  const writer = new JsonlWriter(path)
  for (let i = 0; i < 200; i++) writer.write({ i })
  vi.advanceTimersByTime(100)
  expect(lines(path)).toHaveLength(64)
  vi.runAllTimers()
  expect(lines(path)).toEqual(Array.from({ length: 200 }, (_, i) => ({ i })))
  writer.close()
})

test('close writes what is buffered; writes after close are ignored', () => {
  const path = join(dir, 'c.jsonl')
  const writer = new JsonlWriter(path)
  writer.write({ a: 1 })
  writer.write({ a: 2 })
  writer.close()
  writer.write({ a: 3 })
  expect(lines(path)).toEqual([{ a: 1 }, { a: 2 }])
})

test('a process that exits without closing the writer still writes every buffered line', () => {
  const path = join(dir, 'd.jsonl')
  const module = new URL('../../src/report/jsonl.ts', import.meta.url).href
  const script = `const { JsonlWriter } = await import(${JSON.stringify(module)}); const w = new JsonlWriter(${JSON.stringify(path)}); for (let i = 0; i < 100; i++) w.write({ i }); process.exit(3)`
  expect(() => execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' })).toThrow()
  expect(lines(path)).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })))
})

test('a backlog of 1,024 records is written at once, without waiting for a timer', () => {
  vi.useFakeTimers()
  const path = join(dir, 'e.jsonl')
  const writer = new JsonlWriter(path)
  for (let i = 0; i < 1023; i++) writer.write({ i })
  expect(lines(path)).toHaveLength(0)
  writer.write({ i: 1023 })
  expect(lines(path)).toHaveLength(1024)
  writer.close()
})

test('a smaller backlog (a closed loop\'s request log) is written at once when it fills', () => {
  vi.useFakeTimers()
  const path = join(dir, 'e2.jsonl')
  const writer = new JsonlWriter(path, undefined, 128)
  for (let i = 0; i < 127; i++) writer.write({ i })
  expect(lines(path)).toHaveLength(0)
  writer.write({ i: 127 })
  expect(lines(path)).toHaveLength(128)
  writer.close()
})

test('lines across many writes come out whole and in order: multi-byte text, and a line longer than a write', () => {
  vi.useFakeTimers()
  const path = join(dir, 'f.jsonl')
  const writer = new JsonlWriter(path)
  // About 3 MB in all: many of the writer's writes, each ending between two lines. Mostly 3-byte characters
  // (with 2- and 4-byte ones), so a line has about three times as many bytes as its length: a writer that
  // counted the length would cut the last line of most writes. Every 100th line alone is larger than a write.
  const values = Array.from({ length: 400 }, (_, i) => ({ i, text: `${`${'€'.repeat(900)}é𝄞`.repeat(1 + (i % 5))}${i % 100 === 0 ? 'x'.repeat(400_000) : ''}` }))
  for (const value of values) writer.write(value)
  writer.close()
  expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true)
  expect(lines(path)).toEqual(values)
})

test('a value that cannot be serialised: the lines written before it stay written once, the rest stay queued', () => {
  vi.useFakeTimers()
  const path = join(dir, 'g.jsonl')
  let refuse = true
  // Lines of 40 KB: several go to disk in one write before the value it cannot serialise, one waits unwritten.
  const writer = new JsonlWriter(path, (value) => {
    if ((value as { i: number }).i === 7 && refuse) throw new Error('not serialisable')
    return `${JSON.stringify({ ...(value as object), pad: 'p'.repeat(40_000) })}\n`
  })
  for (let i = 0; i < 10; i++) writer.write({ i })
  expect(() => writer.flush()).toThrow('not serialisable')
  // Whatever reached the file is a prefix, in order; nothing after it is lost or written twice once it can be.
  const before = lines(path).map((v) => (v as { i: number }).i)
  expect(before.length).toBeGreaterThan(0)
  expect(before).toEqual(Array.from({ length: before.length }, (_, k) => k))
  refuse = false
  writer.close()
  expect(lines(path).map((v) => (v as { i: number }).i)).toEqual(Array.from({ length: 10 }, (_, k) => k))
})
