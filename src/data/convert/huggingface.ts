/**
 * Rows of a Hugging Face dataset through the datasets-server HTTP API (no Python, no `datasets` library):
 * `GET <base>/rows?dataset=D&config=C&split=S&offset=O&length=L` (L ≤ 100) answers
 * `{features, rows: [{row_idx, row, truncated_cells}], num_rows_total, num_rows_per_page, partial}`.
 * Pages are fetched in order; 429, 5xx and network errors are retried with backoff (honouring
 * Retry-After); a row whose cells the server truncated is fetched again on its own.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import { InputError } from '../../errors.ts'
import { undici } from '../../lazyRequire.ts'

export const HF_DATASETS_SERVER = 'https://datasets-server.huggingface.co'

export interface HfRowsOptions {
  /** @default {@link HF_DATASETS_SERVER} */
  baseUrl?: string
  /** e.g. `THUDM/LongBench` */
  dataset: string
  /** e.g. `narrativeqa` */
  config: string
  /** @default 'test' */
  split?: string
  /** Rows per page, at most 100 (the server's limit). @default 100 */
  pageSize?: number
  /** Retries of one page after a 429, a 5xx or a network error. @default 4 */
  retries?: number
  /** First retry delay, doubled each time (Retry-After wins when given, up to 60 s). @default 1000 */
  retryDelayMs?: number
  /** Per-request timeout. @default 60000 */
  timeoutMs?: number
  /** Sent as `Authorization: Bearer` (gated datasets). @default process.env.HF_TOKEN */
  token?: string
  /** Called after each page: rows so far, rows in all. */
  onProgress?: (done: number, total: number) => void
  /** Called before a retry. */
  onRetry?: (message: string) => void
}

interface RowsPage {
  rows: { row_idx: number; row: Record<string, unknown>; truncated_cells?: string[] }[]
  num_rows_total: number
}

/** A download that failed after its retries (the CLI exits 1; not an input error). */
export class DownloadError extends Error {
  override readonly name = 'DownloadError'
}

/**
 * Every row of `dataset`/`config`/`split`, in order.
 * @throws InputError for an unknown dataset or config (404), a refused token (401/403) or bad options;
 * DownloadError when a page still fails after its retries, or the server answers something unreadable.
 */
export async function fetchAllRows(options: HfRowsOptions): Promise<Record<string, unknown>[]> {
  const pageSize = options.pageSize ?? 100
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw new InputError(`page size must be 1–100, got ${pageSize}`, '--hf-page-size')
  const rows: Record<string, unknown>[] = []
  let total = Infinity
  for (let offset = 0; offset < total;) {
    const page = await fetchPage(options, offset, pageSize)
    total = page.num_rows_total
    if (page.rows.length === 0) break
    for (const entry of page.rows) {
      if (entry.truncated_cells && entry.truncated_cells.length > 0) {
        const alone = await fetchPage(options, entry.row_idx, 1)
        const full = alone.rows[0]
        if (!full || (full.truncated_cells && full.truncated_cells.length > 0)) {
          throw new DownloadError(`row ${entry.row_idx} of ${options.dataset}/${options.config} is too large for the datasets server's /rows API (truncated: ${(full?.truncated_cells ?? entry.truncated_cells).join(', ')}); download the dataset's files and convert them with --input / --input-dir`)
        }
        rows.push(full.row)
      } else {
        rows.push(entry.row)
      }
    }
    offset += page.rows.length
    options.onProgress?.(rows.length, total)
  }
  return rows
}

async function fetchPage(options: HfRowsOptions, offset: number, length: number): Promise<RowsPage> {
  const base = (options.baseUrl ?? HF_DATASETS_SERVER).replace(/\/+$/, '')
  const query = new URLSearchParams({ dataset: options.dataset, config: options.config, split: options.split ?? 'test', offset: String(offset), length: String(length) })
  const url = `${base}/rows?${query}`
  const token = options.token ?? process.env['HF_TOKEN']
  const headers: Record<string, string> = { accept: 'application/json' }
  if (token) headers['authorization'] = `Bearer ${token}`
  const retries = options.retries ?? 4
  const timeoutMs = options.timeoutMs ?? 60_000
  let delay = options.retryDelayMs ?? 1000
  for (let attempt = 0; ; attempt++) {
    let problem: string
    let retryAfterMs: number | undefined
    try {
      const res = await undici().request(url, { method: 'GET', headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
      const text = await res.body.text()
      if (res.statusCode === 200) return parsePage(text, url)
      const said = serverMessage(text)
      if (res.statusCode === 404) {
        throw new InputError(`${options.dataset} has no config "${options.config}" with split "${options.split ?? 'test'}" (the datasets server answered 404${said ? `: ${said}` : ''})`, '--dataset')
      }
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw new InputError(`the datasets server refused access to ${options.dataset} (HTTP ${res.statusCode}${said ? `: ${said}` : ''}); set HF_TOKEN to a token that can read it`, '--dataset')
      }
      if (res.statusCode !== 429 && res.statusCode < 500) {
        throw new DownloadError(`${url} answered HTTP ${res.statusCode}${said ? `: ${said}` : ''}`)
      }
      problem = `HTTP ${res.statusCode}${said ? ` (${said})` : ''}`
      const after = Number(res.headers['retry-after'])
      if (Number.isFinite(after) && after >= 0) retryAfterMs = Math.min(after * 1000, 60_000)
    } catch (error) {
      if (error instanceof InputError || error instanceof DownloadError) throw error
      const err = error as { code?: string; message?: string; cause?: { code?: string } }
      problem = err.code ?? err.cause?.code ?? err.message ?? String(error)
    }
    if (attempt >= retries) throw new DownloadError(`cannot download rows ${offset}–${offset + length - 1} of ${options.dataset}/${options.config}: ${problem} after ${attempt + 1} attempts (${base})`)
    const wait = retryAfterMs ?? delay
    options.onRetry?.(`rows at offset ${offset}: ${problem}; retrying in ${(wait / 1000).toFixed(1)} s (${attempt + 1}/${retries})`)
    await sleep(wait)
    delay *= 2
  }
}

function parsePage(text: string, url: string): RowsPage {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new DownloadError(`${url} did not answer JSON`)
  }
  const page = body as Partial<RowsPage>
  if (!page || !Array.isArray(page.rows) || typeof page.num_rows_total !== 'number') {
    throw new DownloadError(`${url} answered JSON without "rows" and "num_rows_total"; is --hf-base-url a datasets server?`)
  }
  for (const r of page.rows) {
    if (!r || typeof r !== 'object' || typeof r.row !== 'object' || r.row === null || typeof r.row_idx !== 'number') {
      throw new DownloadError(`${url} answered a row without "row_idx" and "row"`)
    }
  }
  return page as RowsPage
}

function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown }
    if (typeof body.error === 'string') return body.error.slice(0, 200)
  } catch {
    // not JSON
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 200)
}
