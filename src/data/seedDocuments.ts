import { readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { InputError } from '../errors.ts'
import { resolveDatasetPath } from './shipped.ts'

/** Code or prose: decides the instructions a conversation about the document opens with. */
export type DocumentType = 'code' | 'text'

/**
 * One of the `--seed-documents` (the name the Python multi-turn tool, 002, gave its directory): a file
 * whose content opens a multi-turn conversation.
 */
export interface SeedDocument {
  /** File name, e.g. `retry.py`. */
  name: string
  path: string
  type: DocumentType
  /** Extension without the dot (`py`), used as the code fence language. */
  extension: string
  content: string
}

/** Extensions of code documents (as in the Python multi-turn tool, 002). */
export const CODE_EXTENSIONS: readonly string[] = ['.py', '.go', '.rs', '.tsx', '.ts', '.js', '.sql', '.java', '.c', '.cpp', '.rb']
/** Extensions of text documents (as in the Python multi-turn tool, 002). */
export const TEXT_EXTENSIONS: readonly string[] = ['.md', '.txt', '.rst', '.html']

/** The document type of a file name, or undefined when its extension is neither code nor text. */
export function documentTypeOf(name: string): DocumentType | undefined {
  const ext = extname(name).toLowerCase()
  if (CODE_EXTENSIONS.includes(ext)) return 'code'
  if (TEXT_EXTENSIONS.includes(ext)) return 'text'
  return undefined
}

/**
 * Loads the seed documents of a directory (its files, not sub-directories), sorted by name.
 * Skipped with a notice: files of other extensions, empty files, sub-directories. Skipped silently:
 * hidden files, and `README.md` / `README` (notes about the directory, such as the provenance of the
 * shipped set, not a document to discuss).
 *
 * @throws InputError naming `flag` when the directory cannot be read or holds no document.
 */
export function loadSeedDocuments(dir: string, notice: (message: string) => void = () => {}, flag = '--seed-documents'): SeedDocument[] {
  dir = resolveDatasetPath(dir, flag)
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : (code ?? (error as Error).message)
    throw new InputError(`cannot read seed documents from "${dir}" (${why})`, flag)
  }
  const documents: SeedDocument[] = []
  for (const name of names) {
    if (name.startsWith('.')) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) {
      notice(`skipped ${path}: a directory (seed documents are read from the top level only)`)
      continue
    }
    // Notes about the directory (such as the provenance of the shipped set), not a document to discuss.
    if (/^readme(\.md)?$/i.test(name)) continue
    const type = documentTypeOf(name)
    if (!type) {
      notice(`skipped ${path}: extension "${extname(name) || '(none)'}" is neither code (${CODE_EXTENSIONS.join(' ')}) nor text (${TEXT_EXTENSIONS.join(' ')})`)
      continue
    }
    const content = readFileSync(path, 'utf8')
    if (content.trim().length === 0) {
      notice(`skipped ${path}: empty file`)
      continue
    }
    documents.push({ name, path, type, extension: extname(name).slice(1).toLowerCase(), content })
  }
  if (documents.length === 0) {
    throw new InputError(`no seed documents in "${dir}": expected files ending in ${[...CODE_EXTENSIONS, ...TEXT_EXTENSIONS].join(' ')}`, flag)
  }
  return documents
}
