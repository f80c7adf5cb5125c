import { InputError } from '../errors.ts'
import type { Conversation } from '../types.ts'
import { readRows } from './rows.ts'

/**
 * Conversations by index, each made when it is asked for. A workload that reads its dataset from a file
 * keeps it this way: a JSONL row that is one user turn and nothing else (the common `{"text": ...}` row)
 * is kept as its text's UTF-8 bytes and its line, outside the JS heap, its id (`row-<line>`) and `source`
 * made again on each `at()`. Loaded whole as objects, 500,000 such rows held 127 MB of heap (266 B a row);
 * kept this way, 11 MB of buffers and no heap to speak of, which a 1,000,000-request `fluxperf run` needs
 * to stay small: V8 lets its heap grow to a multiple of what is live (docs/performance.md, "The dataset in
 * memory"). Every other row is kept as loadDataset() gives it.
 */
export interface ConversationList {
  readonly length: number
  /** The conversation at `index` (0 ≤ index < length): equal to loadDataset()'s, not the same object. */
  at(index: number): Conversation
}

/** A list over conversations already in memory (a dataset given as rows). */
export function listOf(conversations: readonly Conversation[]): ConversationList {
  return { length: conversations.length, at: (index) => conversations[index] as Conversation }
}

/** The conversations at `indexes` of `list`, in that order (the indexes are copied). */
export function pickConversations(list: ConversationList, indexes: ArrayLike<number>): ConversationList {
  const picked = Int32Array.from(indexes)
  return { length: picked.length, at: (index) => list.at(picked[index] as number) }
}

/**
 * Reads a dataset file as {@link loadDataset} does (the same rows, in file order, and the same InputError at
 * the first problem), keeping one-turn rows compactly.
 */
export async function loadConversationList(path: string): Promise<ConversationList> {
  const texts = new ByteStore()
  // Row i's text is bytes [ends[i - 1], ends[i]); a row kept whole has an empty range and an entry in `whole`.
  let ends = new Float64Array(1024)
  let lines = new Int32Array(1024)
  const whole = new Map<number, Conversation>()
  let length = 0
  let file: string | undefined
  for await (const event of readRows(path)) {
    if (event.kind === 'problem') throw new InputError(event.problem.message, event.problem.where)
    const { conversation: c, line } = event
    const text = c.userMessages[0] as string
    const place = c.source.slice(0, c.source.length - String(line).length - 1)
    // Lone surrogates have no UTF-8 form: such a text could not come back from its bytes unchanged.
    const plain = c.userMessages.length === 1 && c.system === undefined && c.tools === undefined && c.toolChoice === undefined &&
      c.sessionId === `row-${line}` && (file === undefined || place === file) && Object.keys(c).length === 3 && !LONE_SURROGATE.test(text)
    if (length === ends.length) {
      ends = grown(ends)
      lines = grown(lines)
    }
    if (plain) {
      file ??= place
      texts.append(text)
    } else {
      whole.set(length, c)
    }
    ends[length] = texts.length
    lines[length] = line
    length++
  }
  const bytes = texts.done()
  return {
    length,
    at(index) {
      const kept = whole.get(index)
      if (kept !== undefined) return kept
      const line = lines[index] as number
      const text = bytes.toString('utf8', index === 0 ? 0 : ends[index - 1], ends[index])
      return { sessionId: `row-${line}`, userMessages: [text], source: `${file as string}:${line}` }
    },
  }
}

/** A surrogate not in a pair: in a `u` regex a pair is one code point, so only a lone half matches. */
const LONE_SURROGATE = /\p{Cs}/u

/** Texts appended as UTF-8 to one buffer that doubles as it fills. */
class ByteStore {
  private bytes = Buffer.allocUnsafeSlow(64 * 1024)
  length = 0

  append(text: string): void {
    const need = this.length + Buffer.byteLength(text)
    if (need > this.bytes.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(need, this.bytes.length * 2))
      this.bytes.copy(bigger, 0, 0, this.length)
      this.bytes = bigger
    }
    this.length += this.bytes.write(text, this.length)
  }

  /** The bytes written, in a buffer of their size. */
  done(): Buffer {
    const exact = Buffer.allocUnsafeSlow(this.length)
    this.bytes.copy(exact, 0, 0, this.length)
    return exact
  }
}

function grown<T extends Float64Array | Int32Array>(array: T): T {
  const bigger = new (array.constructor as new (length: number) => T)(array.length * 2)
  bigger.set(array)
  return bigger
}
