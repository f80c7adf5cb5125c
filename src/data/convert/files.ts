/** Inputs and outputs of the converters: a file or a directory of them in, a JSONL file out (atomically). */

import { createWriteStream, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, extname, join, resolve } from 'node:path'
import { InputError } from '../../errors.ts'
import { resolveDatasetPath } from '../shipped.ts'

/**
 * The source files a path names: the file itself, or every `.json`/`.jsonl` file in a directory (and
 * its sub-directories), sorted by path so the output is the same on every machine. `fluxperf:<name>` is a
 * shipped dataset.
 * @throws InputError for a missing path or a directory without such files
 */
export function sourceFiles(path: string, flag: string): string[] {
  // A shipped dataset keeps its name (`fluxperf:sharegpt-sample`) as its source: the same on every machine.
  const real = resolveDatasetPath(path, flag)
  let info
  try {
    info = statSync(real)
  } catch {
    throw new InputError(`"${path}" does not exist; expected a file or a directory of .json / .jsonl files`, flag)
  }
  if (info.isFile()) return [path]
  if (!info.isDirectory()) throw new InputError(`"${path}" is neither a file nor a directory`, flag)
  const found: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.isFile() && ['.json', '.jsonl'].includes(extname(entry.name).toLowerCase())) found.push(full)
    }
  }
  walk(real)
  if (found.length === 0) throw new InputError(`directory "${path}" has no .json or .jsonl files`, flag)
  return found
}

/** A JSONL file written to a temporary name and renamed into place when complete, so a failed run leaves no half file. */
export class AtomicJsonlWriter {
  readonly path: string
  readonly #tmp: string
  readonly #stream
  #lines = 0

  /** @throws InputError when the output is one of the inputs or its directory cannot be created. */
  constructor(path: string, inputs: readonly string[], flag: string) {
    const target = resolve(path)
    if (inputs.some((i) => resolve(i) === target)) throw new InputError(`"${path}" is also an input; write the output somewhere else`, flag)
    try {
      mkdirSync(dirname(target), { recursive: true })
    } catch (error) {
      throw new InputError(`cannot create the directory of "${path}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, flag)
    }
    this.path = path
    this.#tmp = `${target}.tmp-${process.pid}`
    this.#stream = createWriteStream(this.#tmp)
  }

  get lines(): number {
    return this.#lines
  }

  async write(row: object): Promise<void> {
    this.#lines++
    if (!this.#stream.write(`${JSON.stringify(row)}\n`)) await new Promise<void>((r) => this.#stream.once('drain', () => r()))
  }

  /** Finishes the file and moves it into place. */
  async commit(): Promise<void> {
    await new Promise<void>((res, rej) => this.#stream.end((error?: Error | null) => (error ? rej(error) : res())))
    renameSync(this.#tmp, resolve(this.path))
  }

  /** Drops the temporary file (after an error). */
  async abort(): Promise<void> {
    await new Promise<void>((res) => this.#stream.end(() => res()))
    rmSync(this.#tmp, { force: true })
  }
}
