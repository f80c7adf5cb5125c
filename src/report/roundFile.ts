import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import type { RequestRecord, RoundResult, RunResult } from '../types.ts'
import { requestEntry, roundHead } from './json.ts'
import { JsonlWriter } from './jsonl.ts'

/**
 * `concurrency_{c}_round_{r}.json` in the Python tools' layout (configuration, summary, then one entry per
 * request), written without holding the round's records: each request's entry is spooled to a JSON-lines
 * file as it ends, and when the round ends the file is assembled from the summary and the spool, then the
 * spool removed. The text is the same as `JSON.stringify(doc, null, 2)` of the whole document.
 */
export class RoundFileWriter {
  readonly path: string
  private readonly spoolPath: string
  private readonly spool: JsonlWriter
  private entries = 0

  constructor(dir: string, concurrency: number, round: number) {
    this.path = join(dir, `concurrency_${concurrency}_round_${round}.json`)
    this.spoolPath = join(dir, `.concurrency_${concurrency}_round_${round}.requests.jsonl`)
    rmSync(this.spoolPath, { force: true })
    this.spool = new JsonlWriter(this.spoolPath)
  }

  /** A request of the round ended: spooled as it is (its entry is made when the file is assembled, off the streams' time). */
  write(record: RequestRecord): void {
    this.entries++
    this.spool.write(record)
  }

  /** Writes the round's file (its summary, then every spooled request) and removes the spool. */
  end(run: Pick<RunResult, 'endpoint' | 'model' | 'seed' | 'config'>, round: RoundResult): string {
    this.spool.close()
    const head = JSON.stringify(roundHead(run, round), null, 2)
    // The head's closing brace is replaced by the requests array, entry by entry, indented as stringify would.
    const out = openSync(this.path, 'w')
    try {
      writeSync(out, `${head.slice(0, head.lastIndexOf('\n}'))},\n  "requests": ${this.entries === 0 ? '[]' : '['}`)
      let first = true
      forEachLine(this.spoolPath, (line) => {
        const entry = JSON.stringify(requestEntry(JSON.parse(line) as RequestRecord), null, 2).replace(/\n/g, '\n    ')
        writeSync(out, `${first ? '' : ','}\n    ${entry}`)
        first = false
      })
      writeSync(out, `${this.entries === 0 ? '' : '\n  ]'}\n}\n`)
    } finally {
      closeSync(out)
      rmSync(this.spoolPath, { force: true })
    }
    return this.path
  }
}

/** Calls `each` for every line of a file, reading it in blocks (never the whole file at once). */
function forEachLine(path: string, each: (line: string) => void): void {
  const fd = openSync(path, 'r')
  const block = Buffer.alloc(1 << 20)
  // A block may end inside a multi-byte character: the decoder keeps its first bytes for the next one.
  const decoder = new StringDecoder('utf8')
  let carry = ''
  try {
    for (;;) {
      const n = readSync(fd, block, 0, block.length, null)
      if (n === 0) break
      const text = carry + decoder.write(block.subarray(0, n))
      const lines = text.split('\n')
      carry = lines.pop() as string
      for (const line of lines) if (line) each(line)
    }
    carry += decoder.end()
    if (carry) each(carry)
  } finally {
    closeSync(fd)
  }
}
