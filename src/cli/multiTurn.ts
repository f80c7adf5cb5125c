import { join } from 'node:path'
import type { Command } from 'commander'
import { API_PATHS, parseEndpointUrl } from '../client/index.ts'
import { InputError } from '../errors.ts'
import { CsvAppender, documentTypesCsv, formatMultiTurnSummary, MULTI_TURN_REQUEST_COLUMNS, multiTurnRequestRow, turnsCsv } from '../report/index.ts'
import { writeFileSync } from 'node:fs'
import { printable } from '../printable.ts'
import type { SeedDocument } from '../data/index.ts'
import type { MultiTurnResult, RequestRecord } from '../types.ts'
import { MULTI_TURN, MULTI_TURN_DEFAULTS } from '../workloads/index.ts'
import type { MultiTurnHooks, MultiTurnOptions } from '../workloads/index.ts'
// Not (yet) re-exported by workloads/index.ts.
import { describeSeedDocumentSet, loadSeedDocumentSet } from '../workloads/index.ts'
import { finiteNumber, wholeNumber } from './flags.ts'
import { workloadHelp } from './help.ts'
import { workloadCommand } from './workloadCommand.ts'
import type { CommonFlags, WorkloadCommandSpec } from './workloadCommand.ts'

/** Flags of `fluxperf multi-turn`, as commander hands them over. */
export interface MultiTurnFlags extends CommonFlags {
  seedDocuments?: string
  conversations: number
  turns: number
  /** `-m, --max-tokens`, the Python tool's name for `--max-output-tokens`. */
  maxTokens: number
  parallel: number
  minDelay: number
  maxDelay: number
  verbose?: boolean
  mockPrefixCache: boolean
  maxContextTokens?: number
}

const d = MULTI_TURN_DEFAULTS

/** `fluxperf multi-turn`: conversations about seed documents (the Python multi-turn tool's command). */
export const MULTI_TURN_COMMAND: WorkloadCommandSpec<MultiTurnFlags, MultiTurnOptions, MultiTurnResult, MultiTurnHooks> = {
  name: 'multi-turn',
  description: 'Multi-turn conversations about seed documents (the Python multi-turn tool): TTFT by turn, first turn vs later turns',
  baseUrlArgument: 'base URL of the API, e.g. http://127.0.0.1:8000/v1 (requests go to <base-url>/chat/completions, or --api\'s path)',
  defaults: { outputDir: 'results/multi-turn', timeout: d.timeout },
  coldRounds: true,
  definition: MULTI_TURN,
  addOptions: (command: Command) => command
    .option('-d, --seed-documents <dir>', 'directory of seed documents (top level only)')
    .option('-c, --conversations <n>', 'conversations to hold', wholeNumber(1), d.conversations)
    .option('-t, --turns <n>', 'turns per conversation', wholeNumber(1), d.turns)
    .option('-m, --max-tokens <n>', 'max_tokens of every response (same as --max-output-tokens)', wholeNumber(1), d.maxOutputTokens)
    .option('-p, --parallel <n>', 'parallel workers, each holding one conversation at a time', wholeNumber(1), d.parallel)
    .option('--min-delay <seconds>', 'least think time before each request', finiteNumber(0), d.minDelay)
    .option('--max-delay <seconds>', 'most think time before each request', finiteNumber(0), d.maxDelay)
    .option('--max-context-tokens <tokens>', 'drop the oldest turns (the document first) when the context exceeds this', wholeNumber(1))
    .option('-v, --verbose', 'print a preview of every response')
    .option('--no-mock-prefix-cache', "turn the built-in mock's prefix cache off (with --mock-server)"),
  // The Python tool's base URL includes /v1: the API's path below it.
  endpointOf: (flags, baseUrl) => (baseUrl ? `${baseUrl.replace(/\/+$/, '')}${API_PATHS[flags.api ?? 'chat'].slice('/v1'.length)}` : undefined),
  mockOptions: (flags) => ({ prefixCache: flags.mockPrefixCache }),
  validate(flags, baseUrl) {
    if (baseUrl) {
      const url = parseEndpointUrl(baseUrl, '<base-url>')
      if (/\/(chat\/completions|completions|responses)\/?$/.test(url.pathname)) {
        throw new InputError(`"${baseUrl}" is an endpoint; give the base URL (e.g. ${baseUrl.replace(/\/(chat\/completions|completions|responses)\/?$/, '')}), requests go to <base-url>/chat/completions (or --api's path)`, '<base-url>')
      }
    }
    if (flags.maxDelay < flags.minDelay) throw new InputError(`must be ≥ --min-delay (${flags.minDelay}), got ${flags.maxDelay}`, '--max-delay')
    if (!flags.mockPrefixCache && !flags.mockServer) throw new InputError('only applies to the built-in mock; add --mock-server', '--no-mock-prefix-cache')
  },
  workloadOptions: (flags, settings) => ({
    ...settings,
    documents: seedDocuments(flags.seedDocuments),
    conversations: flags.conversations,
    turns: flags.turns,
    parallel: flags.parallel,
    minDelay: flags.minDelay,
    maxDelay: flags.maxDelay,
    maxOutputTokens: flags.maxOutputTokens ?? flags.maxTokens,
    maxContextTokens: flags.maxContextTokens,
  }),
  requestLog: () => 'requests_multi_turn',
  reports(flags, progress, out) {
    const requests = new CsvAppender(join(flags.outputDir, 'requests.csv'), MULTI_TURN_REQUEST_COLUMNS)
    let started = false
    const hooks: MultiTurnHooks = {
      // Both groups (first turns, later turns) start at once: one bar for the run.
      onRoundStart() {
        if (started || flags.verbose) return
        started = true
        progress.start('multi-turn', flags.conversations * flags.turns)
      },
      onRequest(record) {
        requests.write(multiTurnRequestRow(record))
        progress.tick(record)
        if (flags.verbose) out.write(`${preview(record)}\n`)
      },
    }
    return {
      hooks,
      finish(run, written) {
        const files = [...written]
        const write = (name: string, text: string): void => {
          writeFileSync(join(flags.outputDir, name), text)
          files.push(join(flags.outputDir, name))
        }
        write('ttft_by_turn.csv', turnsCsv(run))
        write('document_types.csv', documentTypesCsv(run))
        requests.close()
        files.push(requests.path)
        out.write(`\n${formatMultiTurnSummary(run)}\n`)
        return files
      },
      where: (files) => `reports: ${files.join(', ')}`,
      passedDetail: (run) => `, ${run.conversations.completed}/${run.conversations.planned} conversations completed`,
    }
  },
}

export function multiTurnCommand(): Command {
  return workloadHelp(workloadCommand(MULTI_TURN_COMMAND), MULTI_TURN_COMMAND.coldRounds, {
    '--seed-documents': './seed-documents when the current directory has one, else the shipped set (datasets/seed-documents of fluxperf)',
    '--max-output-tokens': `--max-tokens, ${d.maxOutputTokens}`,
  })
}

/**
 * The seed documents of `--seed-documents`, else of `./seed-documents`, else the shipped set, loaded here so that
 * stdout says which set the run uses, next to where the mock runs (skipped files are notices on stderr).
 */
function seedDocuments(dir: string | undefined): SeedDocument[] {
  const set = loadSeedDocumentSet(dir, (message) => process.stderr.write(`fluxperf: ${message}\n`))
  process.stdout.write(`${describeSeedDocumentSet(set)}\n`)
  return set.documents
}

/** `-v`: one line per response. */
function preview(r: RequestRecord): string {
  const head = `[${r.sessionId} turn ${r.turnIndex + 1}]`
  if (!r.ok) return `${head} FAILED ${r.error?.kind}: ${r.error?.message}`
  // The model's answer: printed, so no terminal escapes through.
  const text = printable(r.outputText.replace(/\s+/g, ' ').trim())
  return `${head} TTFT ${r.ttftMs?.toFixed(1) ?? 'n/a'} ms, total ${r.latencyMs.toFixed(1)} ms, ${r.outputTokens} tokens: ${text.length > 100 ? `${text.slice(0, 100)}…` : text}`
}
