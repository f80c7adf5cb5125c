/**
 * An error in what the user gave us (a flag, a file, a dataset line, a recipe key).
 * The CLI prints only its message (no stack) and exits 2.
 */
export class InputError extends Error {
  override readonly name = 'InputError'
  /** Where the problem is, e.g. `data/x.jsonl:3` or `--concurrency`. */
  readonly where: string | undefined
  constructor(message: string, where?: string) {
    super(where ? `${where}: ${message}` : message)
    this.where = where
  }
}

/** True for errors that are the user's input, not a bug or a failed run. */
export function isInputError(error: unknown): error is InputError {
  return error instanceof InputError
}
