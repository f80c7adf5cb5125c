import type { Conversation } from '../types.ts'

/** The outcome of reading one dataset row: a conversation, or what is wrong with the row. */
export type RowResult = { ok: true; conversation: Conversation } | { ok: false; message: string }

/** Where a row sits, for its ids: `fallbackId` when the row has no `session_id`/`id`, `source` = `file:line`. */
export interface RowPlace {
  fallbackId: string
  source: string
}

/** One-line description of the accepted row formats, for error messages. */
export const ACCEPTED_FORMATS =
  '{"text": "..."} (or "prompt"); {"session_id": "s1", "user_messages": ["...", "..."]}; ' +
  'ShareGPT {"conversations": [{"from": "human", "value": "..."}, ...]}; ' +
  'OpenAI {"messages": [{"role": "user", "content": "..."}, ...]}'

const SHAREGPT_ROLES: Record<string, 'user' | 'assistant' | 'system'> = {
  human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', chatgpt: 'assistant', model: 'assistant', system: 'system',
}
const OPENAI_ROLES: Record<string, 'user' | 'assistant' | 'system'> = {
  user: 'user', assistant: 'assistant', system: 'system', developer: 'system', tool: 'assistant',
}

type Turns = { user: string[]; system: string[] } | string

/**
 * Reads one parsed JSON row in any accepted format. The format is picked by the first key present, in
 * this order: `user_messages`, `messages`, `conversations`, `text`, `prompt`; other keys are ignored.
 * Only user turns are kept (assistant turns are replaced at run time by the model's real replies);
 * system turns become `Conversation.system` (several are joined with a blank line). User turns must be
 * non-empty strings.
 */
export function parseRow(value: unknown, place: RowPlace): RowResult {
  if (!isObject(value)) return fail(`expected a JSON object, got ${describe(value)}; accepted rows: ${ACCEPTED_FORMATS}`)
  const id = sessionIdOf(value)
  if (typeof id !== 'object') return fail(id)
  const turns = turnsOf(value)
  if (typeof turns === 'string') return fail(turns)
  const conversation: Conversation = { sessionId: id.id ?? place.fallbackId, userMessages: turns.user, source: place.source }
  if (turns.system.length > 0) conversation.system = turns.system.join('\n\n')
  const tools = toolsOf(value)
  if (typeof tools === 'string') return fail(tools)
  if (tools.tools !== undefined) conversation.tools = tools.tools
  if (tools.toolChoice !== undefined) conversation.toolChoice = tools.toolChoice
  return { ok: true, conversation }
}

/**
 * A row's `tools` (Chat Completions shape: `[{"type": "function", "function": {"name": "…", "parameters": {…}}}]`)
 * and `tool_choice` ("auto", "none", "required" or `{"type": "function", "function": {"name": "…"}}`), sent with
 * every request of the conversation. Checked here, so a typo is an error naming the row rather than a 400 per request.
 */
function toolsOf(row: Record<string, unknown>): Pick<Conversation, 'tools' | 'toolChoice'> | string {
  const out: Pick<Conversation, 'tools' | 'toolChoice'> = {}
  if ('tools' in row) {
    const tools = row['tools']
    if (!Array.isArray(tools) || tools.length === 0) return `"tools" must be a non-empty list of tools, got ${Array.isArray(tools) ? "an empty list" : describe(tools)}`
    const bad = tools.findIndex((t) => !isObject(t) || t['type'] !== 'function' || !isObject(t['function']) || typeof t['function']['name'] !== 'string' || t['function']['name'] === '')
    if (bad >= 0) return `"tools"[${bad}] must be {"type": "function", "function": {"name": "...", "parameters": {...}}}, got ${describe(tools[bad])}`
    out.tools = tools
  }
  if ('tool_choice' in row) {
    const choice = row['tool_choice']
    const named = isObject(choice) && choice['type'] === 'function' && isObject(choice['function']) && typeof choice['function']['name'] === 'string'
    if (!named && choice !== 'auto' && choice !== 'none' && choice !== 'required') return `"tool_choice" must be "auto", "none", "required" or {"type": "function", "function": {"name": "..."}}, got ${describe(choice)}`
    if (out.tools === undefined) return '"tool_choice" needs "tools" in the same row'
    if (named) {
      const name = (choice['function'] as Record<string, unknown>)['name'] as string
      const names = out.tools.map((t) => ((t as Record<string, Record<string, unknown>>)['function'] as Record<string, unknown>)['name'])
      if (!names.includes(name)) return `"tool_choice" names "${name}", which is not in "tools" (${names.join(', ')})`
    }
    out.toolChoice = choice
  }
  return out
}

function turnsOf(row: Record<string, unknown>): Turns {
  if ('user_messages' in row) return userMessagesRow(row.user_messages)
  if ('messages' in row) return openAiRow(row.messages)
  if ('conversations' in row) return shareGptRow(row.conversations)
  if ('text' in row) return textRow(row.text, 'text')
  if ('prompt' in row) return textRow(row.prompt, 'prompt')
  const keys = Object.keys(row)
  const shown = keys.length === 0 ? 'no keys' : `keys: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', ...' : ''}`
  return `unknown row format (${shown}); expected one of: ${ACCEPTED_FORMATS}`
}

function textRow(text: unknown, key: string): Turns {
  if (typeof text !== 'string') return `"${key}" must be a string, got ${describe(text)}`
  if (text.trim() === '') return `"${key}" is empty; expected the prompt text`
  return { user: [text], system: [] }
}

function userMessagesRow(messages: unknown): Turns {
  if (!Array.isArray(messages)) return `"user_messages" must be an array of strings, got ${describe(messages)}`
  if (messages.length === 0) return '"user_messages" is empty; expected at least one user message'
  for (const [i, m] of messages.entries()) {
    if (typeof m !== 'string') return `"user_messages"[${i}] must be a string, got ${describe(m)}; expected an array of strings`
    if (m.trim() === '') return `"user_messages"[${i}] is empty; expected the text of a user turn`
  }
  return { user: messages as string[], system: [] }
}

function shareGptRow(turns: unknown): Turns {
  if (!Array.isArray(turns)) return `"conversations" must be an array of {"from", "value"} objects, got ${describe(turns)}`
  if (turns.length === 0) return '"conversations" is empty; expected at least one {"from": "human", "value": "..."} turn'
  const out = { user: [] as string[], system: [] as string[] }
  for (const [i, t] of turns.entries()) {
    const at = `"conversations"[${i}]`
    if (!isObject(t)) return `${at} must be an object {"from", "value"}, got ${describe(t)}`
    const from = typeof t.from === 'string' ? SHAREGPT_ROLES[t.from.toLowerCase()] : undefined
    if (!from) return `${at}.from is ${JSON.stringify(t.from) ?? 'missing'}; expected one of: ${Object.keys(SHAREGPT_ROLES).join(', ')}`
    if (typeof t.value !== 'string') return `${at}.value must be a string, got ${describe(t.value)}`
    if (from === 'assistant') continue
    if (from === 'user' && t.value.trim() === '') return `${at}.value is empty; expected the text of a user turn`
    out[from].push(t.value)
  }
  if (out.user.length === 0) return 'no user turn in "conversations"; expected at least one turn with "from": "human"'
  return out
}

function openAiRow(messages: unknown): Turns {
  if (!Array.isArray(messages)) return `"messages" must be an array of {"role", "content"} objects, got ${describe(messages)}`
  if (messages.length === 0) return '"messages" is empty; expected at least one {"role": "user", "content": "..."} message'
  const out = { user: [] as string[], system: [] as string[] }
  for (const [i, m] of messages.entries()) {
    const at = `"messages"[${i}]`
    if (!isObject(m)) return `${at} must be an object {"role", "content"}, got ${describe(m)}`
    const role = typeof m.role === 'string' ? OPENAI_ROLES[m.role] : undefined
    if (!role) return `${at}.role is ${JSON.stringify(m.role) ?? 'missing'}; expected one of: ${Object.keys(OPENAI_ROLES).join(', ')}`
    if (role === 'assistant') continue
    const content = contentText(m.content, `${at}.content`)
    if (typeof content !== 'object') return content
    if (role === 'user' && content.text.trim() === '') return `${at}.content is empty; expected the text of a user turn`
    out[role].push(content.text)
  }
  if (out.user.length === 0) return 'no user turn in "messages"; expected at least one message with "role": "user"'
  return out
}

/** OpenAI content: a string, or an array of `{type: "text", text}` parts (joined with newlines). */
function contentText(content: unknown, at: string): { text: string } | string {
  if (typeof content === 'string') return { text: content }
  if (!Array.isArray(content)) return `${at} must be a string or an array of {"type": "text", "text": "..."} parts, got ${describe(content)}`
  const texts: string[] = []
  for (const [j, part] of content.entries()) {
    if (!isObject(part)) return `${at}[${j}] must be an object {"type": "text", "text": "..."}, got ${describe(part)}`
    if (part.type !== 'text') return `${at}[${j}] has type ${JSON.stringify(part.type) ?? 'missing'}; only {"type": "text"} parts are supported`
    if (typeof part.text !== 'string') return `${at}[${j}].text must be a string, got ${describe(part.text)}`
    texts.push(part.text)
  }
  return { text: texts.join('\n') }
}

function sessionIdOf(row: Record<string, unknown>): { id: string | undefined } | string {
  for (const key of ['session_id', 'id']) {
    const v = row[key]
    if (v === undefined || v === null) continue
    if (typeof v === 'string' && v !== '') return { id: v }
    if (typeof v === 'number' && Number.isFinite(v)) return { id: String(v) }
    return `"${key}" must be a non-empty string or a number, got ${describe(v)}`
  }
  return { id: undefined }
}

function fail(message: string): RowResult {
  return { ok: false, message }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `a string`, `an array`, `null`, ... for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (v === undefined) return 'nothing (missing)'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return v === '' ? 'an empty string' : 'a string'
  // JSON reads 1e400 as Infinity: say so, rather than "a number" (which the message then refuses).
  if (typeof v === 'number' && !Number.isFinite(v)) return `a number out of range (${v})`
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`
}
