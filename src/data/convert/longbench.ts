/**
 * LongBench rows (`{input, context, answers, length, dataset, language, all_classes, _id}`, as its JSONL
 * files and the `THUDM/LongBench` dataset have them) → long single-turn prompts: the context, a blank line,
 * then the input (the question or instruction; empty for summarisation sets). Rows are de-duplicated (same
 * `_id`, or the same prompt text), and sampled without ever picking a row twice.
 */

import { createHash } from 'node:crypto'
import { InputError } from '../../errors.ts'
import { createRandom } from '../../random.ts'
import { AtomicJsonlWriter, sourceFiles } from './files.ts'
import { fetchAllRows, HF_DATASETS_SERVER } from './huggingface.ts'
import type { HfRowsOptions } from './huggingface.ts'
import { readValidJsonValues } from './jsonValues.ts'
import type { ConvertReport } from './sharegpt.ts'

/** The configs of THUDM/LongBench (for messages; any name is tried). */
export const LONGBENCH_CONFIGS = [
  'narrativeqa', 'qasper', 'multifieldqa_en', 'multifieldqa_zh', 'hotpotqa', '2wikimqa', 'musique', 'dureader',
  'gov_report', 'qmsum', 'multi_news', 'vcsum', 'trec', 'triviaqa', 'samsum', 'lsht', 'passage_count',
  'passage_retrieval_en', 'passage_retrieval_zh', 'lcc', 'repobench-p',
  'qasper_e', 'multifieldqa_en_e', 'hotpotqa_e', '2wikimqa_e', 'gov_report_e', 'multi_news_e', 'trec_e',
  'triviaqa_e', 'samsum_e', 'passage_count_e', 'passage_retrieval_en_e', 'lcc_e', 'repobench-p_e',
]

export interface LongBenchOptions {
  /** Exactly one source: a file, a directory of `.jsonl`/`.json` files, or a config to download. */
  input?: string
  inputDir?: string
  dataset?: string
  output: string
  /** Rows to keep (seeded sample). @default all */
  numSamples?: number
  /** Seed of the sample. @default 42 */
  seed?: number
  /** `text`: `{"id", "text", ...}`; `messages`: `{"id", "messages": [{"role": "user", "content"}], ...}`. @default 'text' */
  format?: 'text' | 'messages'
  /** Allow more samples than distinct rows (rows then repeat, with ids `<id>#r2`, ...). @default false */
  allowRepeat?: boolean
  /** Download settings for `dataset` (base URL, repository, split, retries). */
  hf?: Partial<Omit<HfRowsOptions, 'config'>>
}

export interface LongBenchReport extends ConvertReport {
  /** Distinct rows available after de-duplication. */
  distinct: number
  /** Rows dropped as duplicates. */
  duplicates: number
  /** Rows written more than once (`--allow-repeat`). */
  repeated: number
}

interface Prompt {
  id: string
  text: string
  dataset?: string
  language?: string
  length?: number
  where: string
}

/** Converts LongBench rows to prompt JSONL. */
export async function convertLongBench(options: LongBenchOptions): Promise<LongBenchReport> {
  const sources = [options.input, options.inputDir, options.dataset].filter((s) => s !== undefined)
  if (sources.length !== 1) throw new InputError('give exactly one of --input FILE, --input-dir DIR or --dataset NAME', 'data longbench')
  if (options.numSamples !== undefined && (!Number.isInteger(options.numSamples) || options.numSamples < 1)) {
    throw new InputError(`expected a whole number ≥ 1, got ${options.numSamples}`, '--num-samples')
  }
  const format = options.format ?? 'text'
  if (format !== 'text' && format !== 'messages') throw new InputError(`expected text or messages, got "${String(format)}"`, '--format')

  const report: LongBenchReport = { files: [], read: 0, written: 0, skipped: {}, examples: [], output: options.output, distinct: 0, duplicates: 0, repeated: 0 }
  const skip = (reason: string, where: string): void => {
    report.skipped[reason] = (report.skipped[reason] ?? 0) + 1
    if (report.examples.length < 5) report.examples.push(`${where}: ${reason}`)
  }
  const skipInvalid = (where: string): void => {
    report.read++
    skip('invalid JSON', where)
  }
  const prompts: Prompt[] = []
  const seenIds = new Set<string>()
  const seenText = new Set<string>()
  const add = (row: unknown, where: string, fallbackId: string, fallbackDataset: string | undefined): void => {
    report.read++
    const prompt = promptOf(row, where, fallbackId, fallbackDataset)
    if (typeof prompt === 'string') {
      skip(prompt, where)
      return
    }
    const hash = createHash('sha256').update(prompt.text).digest('hex')
    if (seenIds.has(prompt.id) || seenText.has(hash)) {
      report.duplicates++
      return
    }
    seenIds.add(prompt.id)
    seenText.add(hash)
    prompts.push(prompt)
  }

  if (options.dataset !== undefined) {
    const repo = options.hf?.dataset ?? 'THUDM/LongBench'
    const rows = await fetchAllRows({ ...options.hf, dataset: repo, config: options.dataset }).catch((error: unknown) => {
      if (error instanceof InputError && /answered 404/.test(error.message) && !LONGBENCH_CONFIGS.includes(options.dataset as string)) {
        throw new InputError(`${error.message.replace(/^--dataset: /, '')}; LongBench configs: ${LONGBENCH_CONFIGS.join(', ')}`, '--dataset')
      }
      throw error
    })
    const origin = `${(options.hf?.baseUrl ?? HF_DATASETS_SERVER).replace(/\/+$/, '')} ${repo}/${options.dataset}`
    report.files.push(origin)
    rows.forEach((row, i) => add(row, `${repo}/${options.dataset} row ${i}`, String(i), options.dataset))
  } else {
    const files = sourceFiles((options.input ?? options.inputDir) as string, options.input !== undefined ? '--input' : '--input-dir')
    report.files.push(...files)
    for (const file of files) {
      const fallbackDataset = file.replace(/^.*[\\/]/, '').replace(/\.jsonl?$/i, '')
      for await (const { value, index, where } of readValidJsonValues(file, skipInvalid)) {
        add(value, where, `${fallbackDataset}-${index}`, fallbackDataset)
      }
    }
  }
  report.distinct = prompts.length
  if (prompts.length === 0) {
    throw new InputError(`no usable LongBench row (${report.read} read${report.examples[0] ? `; e.g. ${report.examples[0]}` : ''}); expected rows with "context" and "input"`, options.dataset ?? options.input ?? options.inputDir)
  }
  const chosen = sample(prompts, options.numSamples, options.seed ?? 42, options.allowRepeat ?? false, report)

  const out = new AtomicJsonlWriter(options.output, report.files, '--output')
  try {
    for (const p of chosen) {
      const meta = { ...(p.dataset ? { dataset: p.dataset } : {}), ...(p.language ? { language: p.language } : {}), ...(p.length !== undefined ? { length: p.length } : {}) }
      await out.write(format === 'text' ? { id: p.id, text: p.text, ...meta } : { id: p.id, messages: [{ role: 'user', content: p.text }], ...meta })
      report.written++
    }
    await out.commit()
  } catch (error) {
    await out.abort()
    throw error
  }
  return report
}

/** A prompt from one LongBench row, or why the row cannot give one. */
function promptOf(row: unknown, where: string, fallbackId: string, fallbackDataset: string | undefined): Prompt | string {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return 'not a JSON object'
  const r = row as Record<string, unknown>
  const context = r['context']
  const input = r['input'] ?? ''
  if (typeof context !== 'string') return '"context" is missing or not a string'
  if (typeof input !== 'string') return '"input" is not a string'
  const parts = [context.trim(), input.trim()].filter((p) => p !== '')
  if (parts.length === 0) return '"context" and "input" are both empty'
  const dataset = typeof r['dataset'] === 'string' && r['dataset'] !== '' ? r['dataset'] : fallbackDataset
  const rawId = typeof r['_id'] === 'string' && r['_id'] !== '' ? r['_id'] : fallbackId
  const prompt: Prompt = { id: dataset && !rawId.startsWith(`${dataset}-`) ? `${dataset}-${rawId}` : rawId, text: parts.join('\n\n'), where }
  if (dataset) prompt.dataset = dataset
  if (typeof r['language'] === 'string') prompt.language = r['language']
  if (typeof r['length'] === 'number') prompt.length = r['length']
  return prompt
}

/**
 * The sampling guard: without `n`, every distinct row in file order; with `n` ≤ distinct rows, a seeded
 * sample of distinct rows (in file order); with more, an error — or, with `allowRepeat`, every row and
 * then seeded repeats (ids suffixed `#r2`, `#r3`, ...).
 */
function sample(prompts: Prompt[], n: number | undefined, seed: number, allowRepeat: boolean, report: LongBenchReport): Prompt[] {
  if (n === undefined || n === prompts.length) return prompts
  if (n < prompts.length) {
    const random = createRandom(seed)
    const picked = random.shuffle(prompts.map((_, i) => i)).slice(0, n).sort((a, b) => a - b)
    return picked.map((i) => prompts[i] as Prompt)
  }
  if (!allowRepeat) {
    throw new InputError(`asked for ${n} samples but there are only ${prompts.length} distinct rows (${report.duplicates} duplicates removed); lower --num-samples, or pass --allow-repeat to repeat rows (repeats hit the prefix cache)`, '--num-samples')
  }
  const random = createRandom(seed)
  const out = [...prompts]
  const copies = new Map<string, number>()
  while (out.length < n) {
    const p = prompts[random.int(prompts.length)] as Prompt
    const k = (copies.get(p.id) ?? 1) + 1
    copies.set(p.id, k)
    out.push({ ...p, id: `${p.id}#r${k}` })
    report.repeated++
  }
  return out
}
