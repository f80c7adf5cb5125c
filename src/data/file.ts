import { open, stat } from 'node:fs/promises'
import { InputError } from '../errors.ts'

/** What the first non-blank character of a dataset file says it is. */
export type DatasetShape = 'jsonl' | 'array' | 'empty'

/**
 * Checks that `path` is a readable regular file and reports its shape from the first non-blank byte
 * (after an optional UTF-8 BOM): `[` is a JSON array, anything else is JSONL, nothing is `empty`.
 * Missing files, directories, pipes and devices, and unreadable files throw {@link InputError} naming the path.
 */
export async function inspectDatasetFile(path: string): Promise<{ shape: DatasetShape; size: number }> {
  let size: number
  try {
    const info = await stat(path)
    if (info.isDirectory()) throw new InputError('is a directory; expected a dataset file (JSONL or a JSON array)', path)
    // A FIFO, socket or device would block the read forever (and ignore Ctrl-C): only regular files.
    if (!info.isFile()) throw new InputError('is not a regular file (a pipe, socket or device); expected a dataset file (JSONL or a JSON array)', path)
    size = info.size
  } catch (error) {
    throw fileError(error, path)
  }
  let handle
  try {
    handle = await open(path, 'r')
  } catch (error) {
    throw fileError(error, path)
  }
  try {
    const buffer = Buffer.alloc(64 * 1024)
    let position = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
      if (bytesRead === 0) return { shape: 'empty', size }
      const start = position === 0 && hasBom(buffer) ? 3 : 0
      for (let i = start; i < bytesRead; i++) {
        const b = buffer[i] as number
        if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue
        return { shape: b === 0x5b ? 'array' : 'jsonl', size }
      }
      position += bytesRead
    }
  } finally {
    await handle.close()
  }
}

/** True when the buffer starts with the UTF-8 byte-order mark. */
export function hasBom(buffer: Uint8Array): boolean {
  return buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf
}

/** Turns a node:fs error into an InputError that names the file (InputErrors pass through). */
export function fileError(error: unknown, path: string): InputError {
  if (error instanceof InputError) return error
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new InputError('file not found; expected a dataset file (JSONL or a JSON array)', path)
  if (code === 'EISDIR') return new InputError('is a directory; expected a dataset file (JSONL or a JSON array)', path)
  if (code === 'EACCES' || code === 'EPERM') return new InputError('cannot be read (permission denied)', path)
  return new InputError(`cannot be read (${code ?? (error as Error).message})`, path)
}
