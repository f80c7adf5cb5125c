import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  impliedPrefixShare, loadTrace, MAX_LINE_BYTES, parseTrace, resolveDatasetPath, shippedDatasetNames, shippedDatasetsDir, tracePrompts,
} from '../../src/data/index.ts'
import type { TraceEntry } from '../../src/data/index.ts'
import { InputError } from '../../src/errors.ts'
import { getTokenizer } from '../../src/tokens/index.ts'
import type { Tokenizer } from '../../src/tokens/index.ts'
import { traceExample } from '../../scripts/make-trace-example.ts'

/** The InputError `fn` throws. */
function errorOf(fn: () => unknown): InputError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return error as InputError
  }
  throw new Error('no error thrown')
}

async function loadError(path: string): Promise<InputError> {
  try {
    await loadTrace(path)
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return error as InputError
  }
  throw new Error(`${path} loaded without error`)
}

/** An entry made by hand, for the prompt and share tests. */
function entry(index: number, fields: Partial<TraceEntry>): TraceEntry {
  return { index, line: index + 1, timestampMs: index, outputLength: 16, ...fields }
}

const OK = '{"timestamp": 0, "input_length": 10, "output_length": 5}'

describe('parseTrace reads the Mooncake / AIPerf JSONL format', () => {
  it('reads every field, aliases, and ignores unknown fields', () => {
    const text = [
      '{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, 48]}',
      '{"timestamp": 27483.5, "inputLength": 100, "outputLength": 8, "hashIds": [1], "sessionId": "s-1", "model": "x"}',
      '{"timestamp": 30000, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi", "name": "u"}], "output_length": 4, "session_id": 7}',
      '{"timestamp": 30001, "input_length": 3, "messages": [{"role": "user", "content": "x"}], "output_length": 1, "hash_ids": []}',
    ].join('\n')
    const trace = parseTrace(text, 'trace.jsonl')
    expect(trace.source).toBe('trace.jsonl')
    expect(trace.startMs).toBe(27482)
    expect(trace.durationMs).toBe(30001)
    expect(trace.entries).toEqual([
      { index: 0, line: 1, timestampMs: 27482, inputLength: 6955, outputLength: 52, hashIds: [46, 47, 48] },
      { index: 1, line: 2, timestampMs: 27483.5, inputLength: 100, outputLength: 8, hashIds: [1], sessionId: 's-1' },
      { index: 2, line: 3, timestampMs: 30000, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], outputLength: 4, sessionId: '7' },
      { index: 3, line: 4, timestampMs: 30001, inputLength: 3, messages: [{ role: 'user', content: 'x' }], outputLength: 1 },
    ])
  })

  it('skips blank lines, a BOM and CRLF line ends, and counts lines as the file has them', () => {
    const trace = parseTrace(`\uFEFF\r\n${OK}\r\n\r\n   \n${OK.replace('"timestamp": 0', '"timestamp": 9')}\r\n`, 't.jsonl')
    expect(trace.entries.map((e) => [e.line, e.timestampMs])).toEqual([[2, 0], [5, 9]])
  })

  it('sorts by timestamp, stably: requests at the same time keep their file order', () => {
    const rows = [[500, 'a'], [100, 'b'], [500, 'c'], [0, 'd'], [100, 'e'], [500, 'f']] as const
    const text = rows.map(([t, s]) => `{"timestamp": ${t}, "input_length": 1, "output_length": 1, "session_id": "${s}"}`).join('\n')
    const trace = parseTrace(text, 't.jsonl')
    expect(trace.entries.map((e) => e.sessionId)).toEqual(['d', 'b', 'e', 'a', 'c', 'f'])
    expect(trace.entries.map((e) => e.line)).toEqual([4, 2, 5, 1, 3, 6])
    expect(trace.entries.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5])
    expect([trace.startMs, trace.durationMs]).toEqual([0, 500])
  })

  // Each bad row sits on line 3, after a good row and a blank line.
  it.each([
    ['not json', /invalid JSON \(.+\); expected one JSON object per line/],
    ['[1, 2]', /expected a JSON object such as \{"timestamp": 0, "input_length": 512, "output_length": 64\}, got an array/],
    ['{"input_length": 10, "output_length": 5}', /"timestamp" is missing; expected the time to send the request, in milliseconds since the trace start \(a number ≥ 0\)/],
    ['{"timestamp": "12", "input_length": 10, "output_length": 5}', /"timestamp" must be a number ≥ 0 \(milliseconds since the trace start\), got "12"$/],
    ['{"timestamp": -1, "input_length": 10, "output_length": 5}', /"timestamp" must be a number ≥ 0 .*, got -1$/],
    ['{"timestamp": 1e400, "input_length": 10, "output_length": 5}', /"timestamp" must be a number ≥ 0 .*, got a number out of range \(Infinity\)$/],
    ['{"timestamp": 0, "output_length": 5}', /no "input_length" or "messages"; expected the prompt's length in tokens/],
    ['{"timestamp": 0, "text_input": "Hi", "output_length": 5}', /no "input_length" or "messages"; .* \("text_input" is not read: give the prompt as "messages"\)$/],
    ['{"timestamp": 0, "input_length": 0, "output_length": 5}', /"input_length" must be a whole number ≥ 1 \(prompt tokens\), got 0$/],
    ['{"timestamp": 0, "inputLength": 2.5, "output_length": 5}', /"inputLength" must be a whole number ≥ 1 \(prompt tokens\), got 2.5$/],
    ['{"timestamp": 0, "input_length": 10}', /"output_length" is missing; expected the number of tokens to generate \(a whole number ≥ 1\)/],
    ['{"timestamp": 0, "input_length": 10, "output_length": "abc"}', /"output_length" must be a whole number ≥ 1 \(tokens to generate\), got "abc"$/],
    ['{"timestamp": 0, "input_length": 10, "outputLength": null}', /"outputLength" must be a whole number ≥ 1 \(tokens to generate\), got null$/],
    ['{"timestamp": 0, "input_length": 10, "output_length": 5, "session_id": ""}', /"session_id" must be a non-empty string or a number, got ""$/],
    ['{"timestamp": 0, "input_length": 10, "output_length": 5, "hash_ids": "1,2"}', /"hash_ids" must be an array of whole numbers ≥ 0 \(the ids of the prompt's blocks\), got "1,2"$/],
    ['{"timestamp": 0, "input_length": 10, "output_length": 5, "hashIds": [0, 1, -2]}', /"hashIds"\[2\] must be a whole number ≥ 0 \(a block id\), got -2$/],
    ['{"timestamp": 0, "messages": {"role": "user"}, "output_length": 5}', /"messages" must be an array of \{"role", "content"\} objects, got an object$/],
    ['{"timestamp": 0, "messages": [], "output_length": 5}', /"messages" is empty; expected at least one \{"role": "user", "content": "..."\} message/],
    ['{"timestamp": 0, "messages": [{"role": "tool", "content": "x"}], "output_length": 5}', /"messages"\[0\]\.role is "tool"; expected one of: system, user, assistant$/],
    ['{"timestamp": 0, "messages": [{"role": "user", "content": [{"type": "text"}]}], "output_length": 5}', /"messages"\[0\]\.content must be a string, got an array$/],
  ])('%s', (row, expected) => {
    const error = errorOf(() => parseTrace(`${OK}\n\n${row}\n${OK}\n`, 'trace.jsonl'))
    expect(error.where).toBe('trace.jsonl:3')
    expect(error.message.startsWith('trace.jsonl:3: ')).toBe(true)
    expect(error.message).toMatch(expected)
  })

  it('shows a long string value cut short', () => {
    const error = errorOf(() => parseTrace(`{"timestamp": 0, "input_length": 10, "output_length": "${'x'.repeat(100)}"}`, 't.jsonl'))
    expect(error.message).toBe(`t.jsonl:1: "output_length" must be a whole number ≥ 1 (tokens to generate), got "${'x'.repeat(37)}..."`)
  })

  it('an empty trace is an error naming the source', () => {
    for (const text of ['', '\n  \n\r\n']) {
      expect(errorOf(() => parseTrace(text, 'e.jsonl')).message).toBe('e.jsonl: empty trace (no requests); expected one JSON object per line, e.g. {"timestamp": 0, "input_length": 512, "output_length": 64}')
    }
  })

  it('a line over the dataset limit is an error naming it', () => {
    const long = `{"timestamp": 0, "input_length": 1, "output_length": 1, "pad": "${'x'.repeat(MAX_LINE_BYTES)}"}`
    expect(errorOf(() => parseTrace(`${OK}\n${long}`, 't.jsonl')).message).toMatch(/^t\.jsonl:2: line is 10\.0 MB, over the 10 MB limit per line/)
  })
})

describe('loadTrace reads files like the dataset loader', () => {
  let dir: string
  const file = async (name: string, content: string | Buffer): Promise<string> => {
    const path = join(dir, name)
    await writeFile(path, content)
    return path
  }
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fluxperf-trace-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads a file and names bad rows file:line', async () => {
    const good = await file('good.jsonl', `${OK}\n{"timestamp": 5, "input_length": 7, "output_length": 3}\n`)
    const trace = await loadTrace(good)
    expect(trace.source).toBe(good)
    expect(trace.entries.map((e) => e.inputLength)).toEqual([10, 7])
    const bad = await file('bad.jsonl', `${OK}\n${OK}\n{"timestamp": 0, "input_length": 10, "output_length": "abc"}\n`)
    expect((await loadError(bad)).message).toBe(`${bad}:3: "output_length" must be a whole number ≥ 1 (tokens to generate), got "abc"`)
  })

  it('refuses missing, empty, array, binary and non-UTF-8 files, and over-long lines', async () => {
    expect((await loadError(join(dir, 'none.jsonl'))).message).toBe(`${join(dir, 'none.jsonl')}: file not found; expected a dataset file (JSONL or a JSON array)`)
    const empty = await file('empty.jsonl', '\n\n')
    expect((await loadError(empty)).message).toBe(`${empty}: empty trace (no requests); expected one JSON object per line, e.g. {"timestamp": 0, "input_length": 512, "output_length": 64}`)
    const array = await file('array.json', `[${OK}]`)
    expect((await loadError(array)).message).toMatch(new RegExp(`^${array}: is a JSON array; a trace is JSONL, one request object per line`))
    const binary = await file('binary.jsonl', Buffer.from(`${OK}\n\0\0\n`))
    expect((await loadError(binary)).message).toMatch(new RegExp(`^${binary}:2: binary content \\(NUL bytes\\)`))
    const latin1 = await file('latin1.jsonl', Buffer.concat([Buffer.from(`${OK}\n`), Buffer.from([0x7b, 0xe9, 0x7d, 0x0a])]))
    expect((await loadError(latin1)).message).toMatch(new RegExp(`^${latin1}:2: invalid UTF-8`))
    const long = await file('long.jsonl', `${OK}\n${OK}\n{"pad": "${'x'.repeat(MAX_LINE_BYTES)}"}\n`)
    expect((await loadError(long)).message).toMatch(new RegExp(`^${long}:3: line is 10\\.0 MB, over the 10 MB limit per line`))
  })

  it('fluxperf:trace-example is the shipped example, the generator\'s output, small and valid', async () => {
    expect(shippedDatasetNames()).toContain('trace-example')
    const path = resolveDatasetPath('fluxperf:trace-example')
    expect(path).toBe(join(shippedDatasetsDir(), 'trace-example.jsonl'))
    expect(await readFile(path, 'utf8')).toBe(traceExample())
    expect((await stat(path)).size).toBeLessThan(100 * 1024)
    const trace = await loadTrace('fluxperf:trace-example')
    expect(trace.source).toBe('fluxperf:trace-example')
    expect(trace.entries).toHaveLength(200)
    expect(trace.entries.map((e) => e.line)).toEqual(trace.entries.map((_, i) => i + 1)) // written in time order
    expect(trace.durationMs).toBeGreaterThan(15_000)
    expect(trace.durationMs).toBeLessThan(25_000)
    for (const e of trace.entries) {
      expect(e.inputLength).toBeGreaterThanOrEqual(256)
      expect(e.inputLength).toBeLessThanOrEqual(1024)
      expect(e.outputLength).toBeGreaterThanOrEqual(16)
      expect(e.outputLength).toBeLessThanOrEqual(64)
      expect(e.hashIds).toHaveLength(Math.ceil((e.inputLength as number) / 512))
    }
    const openers = new Map<number, number>()
    for (const e of trace.entries) openers.set(e.hashIds?.[0] as number, (openers.get(e.hashIds?.[0] as number) ?? 0) + 1)
    expect([...openers.values()].filter((n) => n > 1)).toHaveLength(5)
    const share = impliedPrefixShare(trace.entries, 512)
    expect(share).toBeGreaterThan(0.4)
    expect(share).toBeLessThan(0.7)
  })
})

describe('tracePrompts synthesises prompts of exact length that share what the trace shares', () => {
  let tokenizer: Tokenizer
  beforeAll(async () => {
    tokenizer = await getTokenizer('o200k_base')
  })
  const text = (messages: { content: string }[]): string => {
    expect(messages).toHaveLength(1)
    return (messages[0] as { content: string }).content
  }

  it('is token-exact for every shape: full blocks, a partial last block, a tail of its own, no hash ids', () => {
    const prompts = tracePrompts(tokenizer, { blockSize: 32, seed: 1 })
    expect(prompts.blockSize).toBe(32)
    const cases: Partial<TraceEntry>[] = [
      { inputLength: 96, hashIds: [1, 2, 3] }, // exactly the blocks
      { inputLength: 70, hashIds: [1, 2, 3] }, // last block partial
      { inputLength: 33, hashIds: [1, 2, 3] }, // blocks 3 unused
      { inputLength: 1, hashIds: [1] },
      { inputLength: 150, hashIds: [1, 2] }, // 64 tokens of blocks, then 86 of its own
      { inputLength: 1 },
      { inputLength: 777 },
    ]
    for (const [i, fields] of cases.entries()) {
      const messages = prompts.prompt(entry(i, fields))
      expect(messages[0]?.role).toBe('user')
      const content = text(messages)
      expect(content.startsWith(' ')).toBe(false)
      expect(tokenizer.count(content)).toBe(fields.inputLength)
    }
    // The default block size is Mooncake's.
    const mooncake = tracePrompts(tokenizer, { seed: 1 })
    expect(mooncake.blockSize).toBe(512)
    expect(tokenizer.count(text(mooncake.prompt(entry(0, { inputLength: 1100, hashIds: [46, 47, 48] }))))).toBe(1100)
  })

  it('is token-exact with every encoding fluxperf counts with', async () => {
    for (const encoding of ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base'] as const) {
      const t = await getTokenizer(encoding)
      const prompts = tracePrompts(t, { blockSize: 100, seed: 3 })
      for (const [i, inputLength] of [1, 99, 100, 101, 250, 1000].entries()) {
        expect(t.count(text(prompts.prompt(entry(i, { inputLength, hashIds: [i, 7] }))))).toBe(inputLength)
      }
    }
  })

  it('is deterministic: the same seed gives the same text, another seed other text', () => {
    const e = entry(3, { inputLength: 200, hashIds: [5, 6] })
    const a = text(tracePrompts(tokenizer, { blockSize: 64, seed: 9 }).prompt(e))
    expect(text(tracePrompts(tokenizer, { blockSize: 64, seed: 9 }).prompt(e))).toBe(a)
    expect(text(tracePrompts(tokenizer, { blockSize: 64, seed: 10 }).prompt(e))).not.toBe(a)
    // A request's own text is seeded by its index.
    const own = tracePrompts(tokenizer, { blockSize: 64, seed: 9 })
    expect(text(own.prompt(entry(1, { inputLength: 50 })))).toBe(text(own.prompt(entry(1, { inputLength: 50 }))))
    expect(text(own.prompt(entry(1, { inputLength: 50 })))).not.toBe(text(own.prompt(entry(2, { inputLength: 50 }))))
    // Evicted blocks are rebuilt identically.
    const small = tracePrompts(tokenizer, { blockSize: 64, seed: 9, maxCachedBlocks: 1 })
    for (let round = 0; round < 2; round++) expect(text(small.prompt(e))).toBe(a)
  })

  it('requests sharing hash_ids[0..k] share exactly that prefix and differ after it', () => {
    const B = 32
    const prompts = tracePrompts(tokenizer, { blockSize: B, seed: 4 })
    const a = text(prompts.prompt(entry(0, { inputLength: 3 * B, hashIds: [1, 2, 3] })))
    const b = text(prompts.prompt(entry(1, { inputLength: 3 * B + 20, hashIds: [1, 2, 4] })))
    const c = text(prompts.prompt(entry(2, { inputLength: 3 * B, hashIds: [1, 5, 6] })))
    const d = text(prompts.prompt(entry(3, { inputLength: 3 * B, hashIds: [7, 2, 3] })))
    const short = text(prompts.prompt(entry(4, { inputLength: B + 10, hashIds: [1, 2] })))
    const shared = (x: string, y: string): number => {
      const tx = tokenizer.encode(x)
      const ty = tokenizer.encode(y)
      let n = 0
      while (n < tx.length && tx[n] === ty[n]) n++
      return n
    }
    expect(shared(a, b)).toBe(2 * B)
    expect(shared(a, c)).toBe(B)
    expect(shared(b, c)).toBe(B)
    expect(shared(a, d)).toBe(0) // the same ids in later positions share nothing: only prefixes count
    expect(a.startsWith(short)).toBe(true) // a partial block is the start of the full one
    expect(shared(a, short)).toBe(B + 10)
  })

  it('sends messages verbatim (a copy)', () => {
    const messages = [{ role: 'system' as const, content: 'S' }, { role: 'user' as const, content: 'exactly this' }]
    const e = entry(0, { messages, inputLength: 999, hashIds: [1] })
    const sent = tracePrompts(tokenizer, { seed: 1 }).prompt(e)
    expect(sent).toEqual(messages)
    expect(sent).not.toBe(messages)
  })

  it('refuses bad options and entries with nothing to send', () => {
    expect(() => tracePrompts(tokenizer, { blockSize: 0, seed: 1 })).toThrow(/blockSize must be a whole number ≥ 1, got 0/)
    expect(() => tracePrompts(tokenizer, { seed: 1.5 })).toThrow(/seed must be a whole number/)
    expect(() => tracePrompts(tokenizer, { seed: 1 }).prompt(entry(0, {}))).toThrow(/trace request 0 \(line 1\) has no messages and no input length/)
  })

  it('ids above 2^32 get their own blocks', () => {
    const prompts = tracePrompts(tokenizer, { blockSize: 16, seed: 1 })
    const low = text(prompts.prompt(entry(0, { inputLength: 16, hashIds: [5] })))
    const high = text(prompts.prompt(entry(0, { inputLength: 16, hashIds: [5 + 2 ** 32] })))
    expect(high).not.toBe(low)
  })

  it('builds 10,000 requests in 50 shared-prefix groups, every prompt exact and sharing its group\'s prefix', () => {
    const B = 64
    const entries = Array.from({ length: 10_000 }, (_, i) => {
      const g = i % 50
      // 16 to 63 tokens of a block of its own, so that no two prompts are the same by chance.
      return entry(i, { inputLength: 3 * B + 16 + (i % 48), hashIds: [g * 3, g * 3 + 1, g * 3 + 2, 1000 + i] })
    })
    const prompts = tracePrompts(tokenizer, { blockSize: B, seed: 7 })
    const texts = entries.map((e) => text(prompts.prompt(e)))
    const prefixes = texts.slice(0, 50).map((t) => tokenizer.decode(tokenizer.encode(t).slice(0, 3 * B)))
    let tokens = 0
    for (const [i, t] of texts.entries()) {
      expect(t.startsWith(prefixes[i % 50] as string)).toBe(true)
      if (i % 10 === 0) expect(tokenizer.count(t)).toBe(entries[i]?.inputLength)
      tokens += entries[i]?.inputLength as number
    }
    expect(new Set(prefixes).size).toBe(50)
    expect(new Set(texts).size).toBe(10_000)
    // 50 groups × 3 shared blocks of 192 tokens, out of about 224 tokens a request.
    expect(impliedPrefixShare(entries, B)).toBeCloseTo((10_000 - 50) * 3 * B / tokens, 12)
  })
})

describe('impliedPrefixShare', () => {
  it('matches a hand-computed example', () => {
    // blockSize 4. Served tokens, in timestamp order:
    //   t=0  [1,2,3]   12 tokens: nothing seen                                     0
    //   t=5  [1]        2 tokens: block 1 was sent whole; 2 of it are needed      2
    //   t=10 [1,2,4]   10 tokens: blocks 1, 2 (8); block 4 is new, 2 tokens of it  8
    //   t=20 [1,2,4,5] 16 tokens: 1, 2, then only the 2 sent tokens of block 4    10
    //   t=30 [9]        3 tokens: new                                              0
    //   t=40 [2]        4 tokens: id 2 was seen, but not as a first block          0
    //   t=50 messages only: left out
    //   t=60 [1,2,3]   20 tokens: 12 tokens of blocks, all seen; 8 of its own     12
    // served 32 of 12 + 2 + 10 + 16 + 3 + 4 + 20 = 67 tokens.
    const entries = [
      entry(0, { timestampMs: 0, inputLength: 12, hashIds: [1, 2, 3] }),
      entry(1, { timestampMs: 10, inputLength: 10, hashIds: [1, 2, 4] }),
      entry(2, { timestampMs: 20, inputLength: 16, hashIds: [1, 2, 4, 5] }),
      entry(3, { timestampMs: 30, inputLength: 3, hashIds: [9] }),
      entry(4, { timestampMs: 40, inputLength: 4, hashIds: [2] }),
      entry(5, { timestampMs: 50, messages: [{ role: 'user', content: 'hi' }] }),
      entry(6, { timestampMs: 60, inputLength: 20, hashIds: [1, 2, 3] }),
      entry(7, { timestampMs: 5, inputLength: 2, hashIds: [1] }),
    ]
    expect(impliedPrefixShare(entries, 4)).toBe(32 / 67)
  })

  it('is 0 with nothing shared or nothing to count, 1 - 1/n for n copies of one prompt', () => {
    expect(impliedPrefixShare([], 512)).toBe(0)
    expect(impliedPrefixShare([entry(0, { inputLength: 10 }), entry(1, { inputLength: 10 })], 512)).toBe(0)
    const same = Array.from({ length: 4 }, (_, i) => entry(i, { inputLength: 1024, hashIds: [3, 4] }))
    expect(impliedPrefixShare(same, 512)).toBe(3 / 4)
    // With a block size of 256, those two ids cover only 512 tokens of each 1024.
    expect(impliedPrefixShare(same, 256)).toBe((3 * 512) / (4 * 1024))
  })
})
