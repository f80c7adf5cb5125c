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
    return this.take(record, 'line', this.lines, this.entries)
  }

  /** The record's round-file entry: `entryJson(record)`. */
  entry(record: RequestRecord): string {
    return this.take(record, 'entry', this.entries, this.lines)
  }

  /** The text held for `record` if the other file asked first; else both are made and the other one held. */
  private take(record: RequestRecord, which: 'line' | 'entry', held: WeakMap<RequestRecord, string>, other: WeakMap<RequestRecord, string>): string {
    const text = held.get(record)
    if (text !== undefined) {
      held.delete(record)
      return text
    }
    const texts = requestTexts(record)
    other.set(record, which === 'line' ? texts.entry : texts.line)
    return texts[which]
  }
}
