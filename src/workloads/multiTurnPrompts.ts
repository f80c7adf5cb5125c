import type { DocumentType, SeedDocument } from '../data/index.ts'
import type { Random } from '../random.ts'

/** Instructions that open a conversation about a document, per type (as the Python multi-turn tool (002)). */
export const INITIAL_PROMPTS: Readonly<Record<DocumentType, readonly string[]>> = {
  code: [
    'Review this code and identify any bugs or issues.',
    'Add detailed comments to explain what each function does.',
    'Refactor this code to improve readability.',
    'Identify potential security vulnerabilities in this code.',
  ],
  text: [
    'Summarize the main points of this document.',
    'Create a bulleted list of the key takeaways.',
    'What are the main arguments or findings presented?',
  ],
}

/** Follow-up questions of the later turns, per type (the Python multi-turn tool's (002), and a few more in the same spirit). */
export const FOLLOW_UP_PROMPTS: Readonly<Record<DocumentType, readonly string[]>> = {
  code: [
    'The code still has issues. Can you look more carefully?',
    'Can you show me what the fixed code would look like?',
    'What about edge cases - are those handled properly?',
    'How would you write unit tests for this?',
    'Can you explain the most complex part in simpler terms?',
    'What would you change to make it faster?',
  ],
  text: [
    'Can you make that summary longer and more detailed?',
    "That's too long. Can you make it more concise?",
    'What are the practical implications of these findings?',
    'Which of these points is the weakest, and why?',
    'Explain it to someone who is new to the subject.',
    'What questions does the document leave unanswered?',
  ],
}

/** What one conversation is about. */
export interface ConversationPlan {
  /** 0-based conversation number. */
  index: number
  document: SeedDocument
  instruction: string
}

/**
 * Assigns a document and an opening instruction to each conversation: documents in a seeded order,
 * round robin; a document's later conversations take its next instruction, so (document, instruction)
 * pairs repeat only once every pair is used, and no two conversations open with the identical prompt
 * before that (an identical first turn would be served from the prefix cache and blur turn 1's cold TTFT).
 */
export function planConversations(documents: readonly SeedDocument[], count: number, random: Random): ConversationPlan[] {
  const order = random.shuffle(documents.map((_, i) => i))
  const firstInstruction = documents.map((d) => random.int(INITIAL_PROMPTS[d.type].length))
  return Array.from({ length: count }, (_, index) => {
    const docIndex = order[index % order.length] as number
    const document = documents[docIndex] as SeedDocument
    const list = INITIAL_PROMPTS[document.type]
    const instruction = list[((firstInstruction[docIndex] as number) + Math.floor(index / order.length)) % list.length] as string
    return { index, document, instruction }
  })
}

/** The first user message: the instruction, then the document (code in a fenced block). */
export function firstMessage(plan: ConversationPlan): string {
  const { document, instruction } = plan
  const body = document.content.replace(/\s+$/, '')
  return document.type === 'code'
    ? `${instruction}\n\n${document.name}:\n\`\`\`${document.extension}\n${body}\n\`\`\``
    : `${instruction}\n\n${document.name}:\n\n${body}`
}

/** A follow-up question for the document's type, never the same as the previous one. */
export function followUp(type: DocumentType, random: Random, previous?: string): string {
  const list = FOLLOW_UP_PROMPTS[type]
  const choices = list.filter((p) => p !== previous)
  return choices[random.int(choices.length)] as string
}
