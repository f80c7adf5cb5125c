import type { RequestRecord } from '../types.ts'
import { requestTexts } from './json.ts'

/**
 * A request's texts for the two files `fluxperf run --save-requests` writes it to: its line in
 * `requests_round{r}_conc{c}_*.jsonl` and its entry in `concurrency_{c}_round_{r}.json`. Each writer formats its
 * records on its own timer; whichever asks first for a record gets both texts made from one formatting
 * (`requestTexts`), and the other text is held until the other writer asks. A text is held for as long as its
 * record lives at most (a weak map), so a record only one file takes costs nothing more.
 */
export class RequestTexts {
  private readonly lines = new WeakMap<RequestRecord, string>()
  private readonly entries = new WeakMap<RequestRecord, string>()

  /** The record's JSONL line, its newline included: `JSON.stringify(record)` and `\n`. */
  line(record: RequestRecord): string {
    const held = this.lines.get(record)
    if (held !== undefined) {
      this.lines.delete(record)
      return held
    }
    const { line, entry } = requestTexts(record)
    this.entries.set(record, entry)
    return line
  }

  /** The record's round-file entry: `entryJson(record)`. */
  entry(record: RequestRecord): string {
    const held = this.entries.get(record)
    if (held !== undefined) {
      this.entries.delete(record)
      return held
    }
    const { line, entry } = requestTexts(record)
    this.lines.set(record, line)
    return entry
  }
}
