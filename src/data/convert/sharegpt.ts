/**
 * ShareGPT dumps (JSON arrays or JSONL of `{"id", "conversations": [{"from", "value"}, ...]}`, one file or
 * a directory of them) → `{"session_id", "user_messages", "source"}` JSONL lines: the human turns of each
 * conversation, in order, which the multi-turn workloads replay with the model's real replies.
 */

import { InputError } from '../../errors.ts'
import { AtomicJsonlWriter, sourceFiles } from './files.ts'
import { readValidJsonValues } from './jsonValues.ts'

export interface ShareGptOptions {
  /** A ShareGPT file, or a directory of `.json`/`.jsonl` files. */
  input: string
  /** The JSONL file to write. */
  output: string
  /** Stop after this many sessions. @default all */
  maxSessions?: number
  /** Keep only conversations with at least this many human turns. @default 1 */
  minTurns?: number
}

/** What a conversion did. */
export interface ConvertReport {
  files: string[]
  /** Rows read from the inputs. */
  read: number
  /** Lines written. */
  written: number
  /** Rows skipped, by reason. */
  skipped: Record<string, number>
  /** The first few skipped rows, `file:line: reason`. */
  examples: string[]
  output: string
}

/** ShareGPT speakers whose turns are the user's. */
const HUMAN = new Set(['human', 'user'])
/** Every speaker a ShareGPT turn may name. */
const SPEAKERS = new Set(['human', 'user', 'gpt', 'chatgpt', 'bard', 'bing', 'assistant', 'model', 'system'])
const MAX_EXAMPLES = 5

/** Converts ShareGPT files to session JSONL. */
export async function convertShareGpt(options: ShareGptOptions): Promise<ConvertReport> {
  const minTurns = options.minTurns ?? 1
  if (!Number.isInteger(minTurns) || minTurns < 1) throw new InputError(`expected a whole number ≥ 1, got ${minTurns}`, '--min-turns')
  if (options.maxSessions !== undefined && (!Number.isInteger(options.maxSessions) || options.maxSessions < 1)) {
    throw new InputError(`expected a whole number ≥ 1, got ${options.maxSessions}`, '--max-sessions')
  }
  const files = sourceFiles(options.input, 'data sharegpt')
  const report: ConvertReport = { files, read: 0, written: 0, skipped: {}, examples: [], output: options.output }
  const skip = (reason: string, where: string): void => {
    report.skipped[reason] = (report.skipped[reason] ?? 0) + 1
    if (report.examples.length < MAX_EXAMPLES) report.examples.push(`${where}: ${reason}`)
  }
  const skipInvalid = (where: string): void => {
    report.read++
    skip('invalid JSON', where)
  }
  const out = new AtomicJsonlWriter(options.output, files, 'data sharegpt')
  const ids = new Map<string, number>()
  try {
    outer: for (const file of files) {
      for await (const { value, where } of readValidJsonValues(file, skipInvalid)) {
        report.read++
        const turns = humanTurns(value)
        if (typeof turns === 'string') {
          skip(turns, where)
          continue
        }
        if (turns.length === 0) {
          skip('no human turn', where)
          continue
        }
        if (turns.length < minTurns) {
          skip(`fewer than ${minTurns} human turns`, where)
          continue
        }
        const id = uniqueId(idOf(value) ?? `session-${report.written + 1}`, ids)
        await out.write({ session_id: id, user_messages: turns, source: file })
        report.written++
        if (options.maxSessions !== undefined && report.written >= options.maxSessions) break outer
      }
    }
    if (report.written === 0) throw new InputError(`no conversation had ${minTurns > 1 ? `${minTurns} or more human turns` : 'a human turn'} (${report.read} rows read${report.examples[0] ? `; e.g. ${report.examples[0]}` : ''}); nothing written`, options.input)
    await out.commit()
  } catch (error) {
    await out.abort()
    throw error
  }
  return report
}

/** The non-empty human turns of a ShareGPT row (or an OpenAI `messages` row), or why there are none. */
function humanTurns(row: unknown): string[] | string {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return 'not a JSON object'
  const r = row as Record<string, unknown>
  const turns = r['conversations'] ?? r['conversation'] ?? r['messages']
  if (!Array.isArray(turns)) return 'no "conversations" list'
  const out: string[] = []
  for (const t of turns) {
    if (typeof t !== 'object' || t === null) return 'a turn is not an object'
    const turn = t as Record<string, unknown>
    const speaker = String(turn['from'] ?? turn['role'] ?? '').toLowerCase()
    if (!SPEAKERS.has(speaker)) return `unknown speaker ${JSON.stringify(turn['from'] ?? turn['role'] ?? null)}`
    if (!HUMAN.has(speaker)) continue
    const text = turn['value'] ?? turn['content']
    if (typeof text === 'string' && text.trim() !== '') out.push(text)
  }
  return out
}

function idOf(row: unknown): string | undefined {
  const id = (row as Record<string, unknown>)['id'] ?? (row as Record<string, unknown>)['session_id']
  if (typeof id === 'string' && id.trim() !== '') return id
  if (typeof id === 'number' && Number.isFinite(id)) return String(id)
  return undefined
}

/** ShareGPT dumps repeat ids (a long chat split in parts): the second `x` becomes `x#2`. */
function uniqueId(id: string, seen: Map<string, number>): string {
  let n = seen.get(id) ?? 0
  let candidate = id
  while (seen.has(candidate)) candidate = `${id}#${++n + 1}`
  seen.set(id, n)
  seen.set(candidate, seen.get(candidate) ?? 0)
  return candidate
}
