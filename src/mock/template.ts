/**
 * The mock's chat template, shared by /v1/chat/completions and /v1/responses: both routes turn their
 * request into the same messages and tools, so the same conversation is the same prompt tokens whichever
 * route carries it, and shares the prefix cache the same way.
 *
 * Rendering: the tools first (a tools token, one JSON text per tool, an end token), as real templates put
 * tool schemas at the head of the prompt; then per message a role token, the content's tokens, the tokens
 * of each tool call (`toolCallText`) and an end token; then the assistant's role token (the generation
 * prompt, which is also how the next turn's assistant message opens).
 */

import { SPECIAL_TOKENS, tokenizeInto } from './tokenizer.ts'

export interface TemplateToolCall {
  name: string
  arguments: string
}

export interface TemplateMessage {
  role: string
  content: string
  toolCalls?: TemplateToolCall[]
}

/** A function tool, whichever shape it came in (chat's `{type, function: {...}}` or Responses' flat one). */
export interface TemplateTool {
  name: string
  description?: string
  parameters?: unknown
}

const ROLE_TOKENS: Record<string, number> = {
  system: SPECIAL_TOKENS.system,
  user: SPECIAL_TOKENS.user,
  assistant: SPECIAL_TOKENS.assistant,
  tool: SPECIAL_TOKENS.tool,
  developer: SPECIAL_TOKENS.developer,
}

/**
 * The text of a tool call in a prompt. The generated tool call is cached under the tokens of this same
 * text, so a follow-up turn that sends the call back (chat `tool_calls`, a Responses `function_call` item)
 * hits the cache through it.
 */
export function toolCallText(name: string, args: string): string {
  return `${name} ${args}`
}

/** The prompt tokens of a conversation. */
export function renderPrompt(tools: readonly TemplateTool[], messages: readonly TemplateMessage[]): number[] {
  const tokens: number[] = []
  if (tools.length > 0) {
    tokens.push(SPECIAL_TOKENS.tools)
    for (const tool of tools) {
      // One fixed key order, so both routes' shapes give the same text.
      tokenizeInto(JSON.stringify({ name: tool.name, description: tool.description ?? null, parameters: tool.parameters ?? null }), tokens)
    }
    tokens.push(SPECIAL_TOKENS.end)
  }
  for (const message of messages) {
    tokens.push(ROLE_TOKENS[message.role] ?? SPECIAL_TOKENS.other)
    tokenizeInto(message.content, tokens)
    if (message.toolCalls) for (const call of message.toolCalls) tokenizeInto(toolCallText(call.name, call.arguments), tokens)
    tokens.push(SPECIAL_TOKENS.end)
  }
  tokens.push(SPECIAL_TOKENS.assistant)
  return tokens
}

/** Who is talking and which turn: the first user message's text and the number of user messages (at least 1). */
export function conversationOf(messages: readonly TemplateMessage[]): { firstText: string; turn: number } {
  let firstText: string | undefined
  let turn = 0
  for (const message of messages) {
    if (message.role !== 'user') continue
    turn++
    firstText ??= message.content
  }
  return { firstText: firstText ?? '', turn: Math.max(1, turn) }
}
