import { InputError } from '../errors.ts'
import type { Conversation } from '../types.ts'
import { readRows } from './rows.ts'

/**
 * Loads a dataset file into conversations, in file order.
 *
 * Accepts JSONL (one JSON object per line, blank lines skipped, streamed so a large file is never one
 * string) or a JSON array file (first non-blank character `[`), with rows in any of these formats:
 * `{"text": "..."}` / `{"prompt": "..."}`, `{"session_id", "user_messages": [...]}`, ShareGPT
 * `{"conversations": [{"from", "value"}]}`, OpenAI `{"messages": [{"role", "content"}]}`.
 * Only user turns are kept; a system message becomes `Conversation.system`.
 * `sessionId` is the row's `session_id` or `id`, else `row-<line>` (JSONL) or `item-<index>` (array);
 * `source` is `path:line`.
 *
 * @throws InputError at the first problem, its message starting with `path:line:` (or `path:` for
 * problems with the whole file) and saying what was expected. Use {@link validateDataset} to list all.
 */
export async function loadDataset(path: string): Promise<Conversation[]> {
  const conversations: Conversation[] = []
  for await (const event of readRows(path)) {
    if (event.kind === 'problem') throw new InputError(event.problem.message, event.problem.where)
    conversations.push(event.conversation)
  }
  return conversations
}
