import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { RequestRecord, RoundResult, RunResult } from '../types.ts'
import { entryLine, placedEntry, roundFileClosing, roundFileOpening } from './json.ts'
import { JsonlWriter } from './jsonl.ts'
import type { RequestTexts } from './requestTexts.ts'

/**
 * `concurrency_{c}_round_{r}.json` in the Python tools' layout (configuration, summary, then one entry per
 * request), written without holding the round's records: each request's entry is formatted as it ends (a
 * few dozen an event-loop turn, as JsonlWriter writes lines) and spooled, and when the round ends the file is
 * its summary followed by the spool's bytes, copied. The text is roundJson()'s for the same records.
 *
 * Formatting at the round's end instead (the spool holding raw records) cost 5–6 s after the last request of
 * a 500,000-request round, and a second JSON.stringify of every record during it.
 */
export class RoundFileWriter {
  readonly path: string
  private readonly spoolPath: string
  private readonly spool: JsonlWriter
  private entries = 0

  /**
   * @param options.texts where the entries come from when the requests are also written to a JSONL log (the
   *   log's writer takes its lines from the same object, so each record is formatted once for both files).
   * @param options.backlog entries that may wait before they are spooled at once (JsonlWriter's `backlog`).
   */
  constructor(dir: string, concurrency: number, round: number, options: { texts?: RequestTexts; backlog?: number } = {}) {
    const { texts, backlog } = options
    this.path = join(dir, `concurrency_${concurrency}_round_${round}.json`)
    this.spoolPath = join(dir, `.concurrency_${concurrency}_round_${round}.requests.part`)
    rmSync(this.spoolPath, { force: true })
    this.spool = new JsonlWriter(this.spoolPath, texts ? (record) => placedEntry(texts.entry(record as RequestRecord), false) : entryText, backlog)
  }

  /** A request of the round ended: its entry is spooled (formatted off the streams' time, within 0.1 s). */
  write(record: RequestRecord): void {
    this.entries++
    this.spool.write(record)
  }

  /** Writes the round's file (its summary, then every spooled entry) and removes the spool. */
  end(run: Pick<RunResult, 'endpoint' | 'model' | 'seed' | 'config'>, round: RoundResult): string {
    this.spool.close()
    const out = openSync(this.path, 'w')
    try {
      writeSync(out, roundFileOpening(run, round, this.entries))
      // Every spooled entry starts with its separator: the first one's comma is skipped.
      copyFrom(this.spoolPath, 1, out)
      writeSync(out, roundFileClosing(this.entries))
    } finally {
      closeSync(out)
      rmSync(this.spoolPath, { force: true })
    }
    return this.path
  }
}

/** One request's entry, spooled with its separator (the first one's is skipped when the file is assembled). */
function entryText(record: unknown): string {
  return entryLine(record as RequestRecord, false)
}

/** Appends a file's bytes from `offset` to `out`, a block at a time (never the whole file at once). */
function copyFrom(path: string, offset: number, out: number): void {
  const fd = openSync(path, 'r')
  const block = Buffer.allocUnsafe(1 << 20)
  try {
    for (let at = offset; ;) {
      const n = readSync(fd, block, 0, block.length, at)
      if (n === 0) break
      writeSync(out, block, 0, n)
      at += n
    }
  } finally {
    closeSync(fd)
  }
}
