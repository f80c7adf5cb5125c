import { closeSync, openSync, writeSync } from 'node:fs'

/**
 * Appends one JSON line per value (a finished request, a debug entry), written synchronously, so a run
 * that is killed loses nothing that finished and never leaves a half-written line before the last newline.
 */
export class JsonlWriter {
  readonly path: string
  private fd: number | null

  constructor(path: string) {
    this.path = path
    this.fd = openSync(path, 'a')
  }

  write(value: unknown): void {
    if (this.fd === null) return
    writeSync(this.fd, JSON.stringify(value) + '\n')
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }
}

/** The seed's file name: `requests_round{n}_conc{m}_{timestamp}.jsonl`. */
export function requestLogName(round: number, concurrency: number, at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '_')
  return `requests_round${round}_conc${concurrency}_${stamp}.jsonl`
}
