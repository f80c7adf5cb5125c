import { InputError } from '../errors.ts'
import type { Conversation } from '../types.ts'
import { readRows } from './rows.ts'

/**
 * Conversations by index, each made when it is asked for. A workload that reads its dataset from a file
 * keeps it this way: a JSONL row that is one user turn and nothing else (the common `{"text": ...}` row)
 * is kept as its text and line alone, its id (`row-<line>`) and `source` made again on each `at()`.
 * Loaded whole as objects, 500,000 such rows held 127 MB of heap (266 B a row); kept this way, about a
 * sixth of that, which a 1,000,000-request `fluxperf run` needs to stay small (docs/performance.md,
 * "The dataset in memory"). Every other row is kept as loadDataset() gives it.
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

/** The conversations at `indexes` of `list`, in that order. */
export function pickConversations(list: ConversationList, indexes: readonly number[]): ConversationList {
  return { length: indexes.length, at: (index) => list.at(indexes[index] as number) }
}

/**
 * Reads a dataset file as {@link loadDataset} does (the same rows, in file order, and the same InputError at
 * the first problem), keeping one-turn rows compactly.
 */
export async function loadConversationList(path: string): Promise<ConversationList> {
  // A one-turn row: its text; any other row: its conversation.
  const rows: (string | Conversation)[] = []
  const lines: number[] = []
  let file: string | undefined
  for await (const event of readRows(path)) {
    if (event.kind === 'problem') throw new InputError(event.problem.message, event.problem.where)
    const { conversation: c, line } = event
    const place = c.source.slice(0, c.source.length - String(line).length - 1)
    const plain = c.userMessages.length === 1 && c.system === undefined && c.tools === undefined && c.toolChoice === undefined &&
      c.sessionId === `row-${line}` && (file === undefined || place === file) && Object.keys(c).length === 3
    if (plain) file ??= place
    rows.push(plain ? c.userMessages[0] as string : c)
    lines.push(line)
  }
  const lineOf = Int32Array.from(lines)
  return {
    length: rows.length,
    at(index) {
      const row = rows[index] as string | Conversation
      if (typeof row !== 'string') return row
      const line = lineOf[index] as number
      return { sessionId: `row-${line}`, userMessages: [row], source: `${file as string}:${line}` }
    },
  }
}
