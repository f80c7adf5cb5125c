// Writes datasets/trace-example.jsonl (`fluxperf:trace-example`): a small synthetic request trace in
// Mooncake's format, made here from a fixed seed (no production trace). Run: node scripts/make-trace-example.ts
//
// 200 requests arriving as a Poisson process at 10 per second (about 20 s). Four in five belong to one of 5
// groups (unequal sizes, as popular system prompts or documents are): they open with their group's block of
// 512 tokens and go on with text of their own, 513–1024 tokens in all. The rest are 256–1024 tokens of their
// own. Outputs are 16–64 tokens. Hash ids are numbered as Mooncake's are, in order of first appearance, the
// last (partial) block of a prompt always its own. test/data/trace.test.ts checks the file is this output.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createRandom } from '../src/random.ts'

export const TRACE_EXAMPLE_SEED = 22
const REQUESTS = 200
const PER_SECOND = 10
const BLOCK = 512
/** Chance that a request belongs to group 0..4; the rest have no shared prefix. */
const GROUPS = [0.3, 0.2, 0.15, 0.1, 0.05]

/** The JSONL text of the example trace. */
export function traceExample(): string {
  const random = createRandom(TRACE_EXAMPLE_SEED)
  const groupIds = new Map<number, number>()
  let nextId = 0
  let clock = 0
  const lines: string[] = []
  for (let i = 0; i < REQUESTS; i++) {
    if (i > 0) clock += random.exponential(1000 / PER_SECOND)
    const group = pick(random.next())
    const output = 16 + random.int(49)
    let input: number
    const ids: number[] = []
    if (group === undefined) {
      input = 256 + random.int(769)
      for (let b = 0; b < Math.ceil(input / BLOCK); b++) ids.push(nextId++)
    } else {
      input = BLOCK + 1 + random.int(BLOCK)
      let shared = groupIds.get(group)
      if (shared === undefined) {
        shared = nextId++
        groupIds.set(group, shared)
      }
      ids.push(shared, nextId++)
    }
    lines.push(`{"timestamp": ${Math.round(clock)}, "input_length": ${input}, "output_length": ${output}, "hash_ids": [${ids.join(', ')}]}`)
  }
  return `${lines.join('\n')}\n`
}

function pick(u: number): number | undefined {
  let edge = 0
  for (const [group, share] of GROUPS.entries()) {
    edge += share
    if (u < edge) return group
  }
  return undefined
}

if (import.meta.main) {
  const path = fileURLToPath(new URL('../datasets/trace-example.jsonl', import.meta.url))
  writeFileSync(path, traceExample())
  console.log(`wrote ${path}`)
}
