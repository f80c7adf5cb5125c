import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDataset, MAX_LINE_BYTES, validateDataset } from '../../src/data/index.ts'
import { InputError } from '../../src/errors.ts'

const bad = (name: string): string => fileURLToPath(new URL(`../../fixtures/bad/${name}`, import.meta.url))

/** The InputError loadDataset throws for `path`. */
async function loadError(path: string): Promise<InputError> {
  try {
    await loadDataset(path)
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return error as InputError
  }
  throw new Error(`${path} loaded without error`)
}

describe('loadDataset errors name the file, the line and what was expected', () => {
  it.each([
    ['empty.jsonl', '', /empty file \(no rows\); expected one JSON object per line \(JSONL\) or a JSON array/],
    ['binary.jsonl', ':1', /binary content \(NUL bytes\); expected UTF-8 text/],
    ['invalid-utf8.jsonl', ':2', /invalid UTF-8 .*expected UTF-8 text/],
    ['invalid-json-line3.jsonl', ':3', /invalid JSON \(.+\); expected one JSON object per line/],
    ['array-bad-element.json', ':4', /array element \[2\]: "user_messages" must be an array of strings, got a string/],
    ['wrong-types.jsonl', ':2', /"user_messages"\[1\] must be a string, got a number; expected an array of strings/],
    ['empty-messages.jsonl', ':2', /"messages" is empty; expected at least one \{"role": "user"/],
    ['unknown-format.jsonl', ':1', /unknown row format \(keys: question, answer\); expected one of: \{"text": "..."\}.*ShareGPT.*OpenAI/],
    ['no-user-turn.jsonl', ':1', /no user turn in "messages"; expected at least one message with "role": "user"/],
  ])('%s', async (name, line, expected) => {
    const path = bad(name)
    const error = await loadError(path)
    expect(error.message.startsWith(`${path}${line}: `)).toBe(true)
    expect(error.where).toBe(`${path}${line}`)
    expect(error.message).toMatch(expected)
    expect(error.message).not.toMatch(/\n\s+at /) // no stack trace in the message
  })

  it('a missing file', async () => {
    const error = await loadError(bad('does-not-exist.jsonl'))
    expect(error.message).toBe(`${bad('does-not-exist.jsonl')}: file not found; expected a dataset file (JSONL or a JSON array)`)
  })

  it('a directory', async () => {
    const dir = fileURLToPath(new URL('../../fixtures/bad', import.meta.url))
    expect((await loadError(dir)).message).toBe(`${dir}: is a directory; expected a dataset file (JSONL or a JSON array)`)
  })
})

describe('generated files', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxperf-data-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  const write = async (name: string, content: string | Buffer): Promise<string> => {
    const path = join(dir, name)
    await writeFile(path, content)
    return path
  }

  it('a line over 10 MB is reported by size, and the lines after it still load in validate', async () => {
    const huge = `{"text": "${'a'.repeat(MAX_LINE_BYTES + 1024)}"}`
    const path = await write('huge.jsonl', `{"text": "one"}\n${huge}\n{"text": "three"}\n`)
    const error = await loadError(path)
    expect(error.message).toMatch(new RegExp(`^${escape(path)}:2: line is 10\\.0 MB, over the 10 MB limit per line; expected one JSON object per line`))
    const report = await validateDataset(path)
    expect(report.rows).toBe(2)
    expect(report.problems.map((p) => p.line)).toEqual([2])
  })

  it('a file of blank lines has no rows', async () => {
    const path = await write('blank.jsonl', '\n   \n\r\n')
    expect((await loadError(path)).message).toBe(`${path}: empty file (no rows); expected one JSON object per line (JSONL) or a JSON array of objects`)
  })

  it('an empty JSON array has no rows', async () => {
    const path = await write('empty-array.json', '  [ ]\n')
    expect((await loadError(path)).message).toBe(`${path}:1: empty JSON array (no rows); expected at least one row object`)
  })

  it('a broken JSON array names the line of the syntax error', async () => {
    const path = await write('broken-array.json', '[\n  {"text": "a"},\n  {"text": "b"}\n  {"text": "c"}\n]\n')
    expect((await loadError(path)).message).toMatch(new RegExp(`^${escape(path)}:4: invalid JSON \\(.+\\); expected the file to be one JSON array of row objects`))
  })

  it('a JSON array element that is not an object', async () => {
    const path = await write('array-of-strings.json', '["just a string"]')
    expect((await loadError(path)).message).toMatch(/:1: array element \[0\]: expected a JSON object, got a string/)
  })

  it('a JSONL row that is not an object', async () => {
    const path = await write('jsonl-array-row.jsonl', '{"text": "ok"}\n["a", "b"]\n')
    expect((await loadError(path)).message).toMatch(/:2: expected a JSON object, got an array; accepted rows: /)
  })

  it.each([
    ['{"text": 5}', /"text" must be a string, got a number/],
    ['{"text": "   "}', /"text" is empty; expected the prompt text/],
    ['{"user_messages": []}', /"user_messages" is empty; expected at least one user message/],
    ['{"user_messages": ["a", ""]}', /"user_messages"\[1\] is empty/],
    ['{"session_id": ["x"], "text": "a"}', /"session_id" must be a non-empty string or a number, got an array/],
    ['{"conversations": "hi"}', /"conversations" must be an array of \{"from", "value"\} objects, got a string/],
    ['{"conversations": []}', /"conversations" is empty/],
    ['{"conversations": [{"from": "bot", "value": "x"}]}', /"conversations"\[0\]\.from is "bot"; expected one of: human, user, gpt, assistant/],
    ['{"conversations": [{"from": "human", "value": 3}]}', /"conversations"\[0\]\.value must be a string, got a number/],
    ['{"conversations": [{"from": "gpt", "value": "hello"}]}', /no user turn in "conversations"/],
    ['{"messages": {"role": "user"}}', /"messages" must be an array of \{"role", "content"\} objects, got an object/],
    ['{"messages": [{"content": "x"}]}', /"messages"\[0\]\.role is missing; expected one of: user, assistant, system/],
    ['{"messages": [{"role": "user", "content": 7}]}', /"messages"\[0\]\.content must be a string or an array of \{"type": "text"/],
    ['{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]}', /"messages"\[0\]\.content\[0\] has type "image_url"; only \{"type": "text"\} parts are supported/],
    ['{}', /unknown row format \(no keys\)/],
  ])('row %s', async (row, expected) => {
    const path = await write('row.jsonl', `${row}\n`)
    const error = await loadError(path)
    expect(error.message.startsWith(`${path}:1: `)).toBe(true)
    expect(error.message).toMatch(expected)
  })
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

describe('a dataset that is not a regular file', () => {
  it('a FIFO is refused at once naming the path (reading it would block forever)', async () => {
    const { execFileSync } = await import('node:child_process')
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { loadDataset } = await import('../../src/data/index.ts')
    const dir = mkdtempSync(join(tmpdir(), 'fluxperf-fifo-'))
    const fifo = join(dir, 'data.jsonl')
    execFileSync('mkfifo', [fifo])
    try {
      await expect(loadDataset(fifo)).rejects.toThrow(/not a regular file/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
