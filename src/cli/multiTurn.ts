import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { parseEndpointUrl } from '../client/index.ts'
import { InputError } from '../errors.ts'
import type { MockServer } from '../mock/index.ts'
import {
  documentTypesCsv, ensureOutputDir, formatMultiTurnSummary, JsonlWriter, MULTI_TURN_REQUEST_COLUMNS, multiTurnRequestRow, turnsCsv, writeRunFiles,
} from '../report/index.ts'
import { isEncodingName } from '../tokens/index.ts'
import type { RequestRecord, RunResult } from '../types.ts'
import { MULTI_TURN_DEFAULTS, runMultiTurn } from '../workloads/index.ts'
import type { MultiTurnOptions } from '../workloads/index.ts'
import { mockServerOptions, startFlaggedMock } from './mockServer.ts'
import type { MockServerFlags } from './mockServer.ts'
import { allowUnverifiedColdRoundOption, commonVerdict, maxErrorRateOption } from './verdict.ts'
import type { VerdictFlags } from './verdict.ts'
import { finiteNumber, headerPair, wholeNumber } from './flags.ts'
import { createProgress } from './progress.ts'
import { handleInterrupts } from './signals.ts'
import { printable } from '../printable.ts'
import { addConnectionOptions, connectionSettings } from './endpointFlags.ts'
import type { ConnectionFlags } from './endpointFlags.ts'

/** Flags of `fluxperf multi-turn`, as commander hands them over. */
export interface MultiTurnFlags extends MockServerFlags, ConnectionFlags {
  seedDocuments?: string
  conversations: number
  turns: number
  maxTokens: number
  parallel: number
  minDelay: number
  maxDelay: number
  timeout: number
  verbose?: boolean
  outputDir: string
  saveRequests?: boolean
  mockPrefixCache: boolean
  seed?: number
  resetCacheUrl?: string
  apiKey?: string
  model?: string
  header?: Record<string, string>
  maxContextTokens?: number
  tokenizer: string
  progress: boolean
  maxErrorRate?: VerdictFlags['maxErrorRate']
  allowUnverifiedColdRound?: VerdictFlags['allowUnverifiedColdRound']
}

export function multiTurnCommand(): Command {
  const d = MULTI_TURN_DEFAULTS
  const [mockServer, mockHost, mockPort] = mockServerOptions()
  return addConnectionOptions(new Command('multi-turn'))
    .description('Multi-turn conversations about seed documents (seed 002): TTFT by turn, first turn vs later turns')
    .argument('[base-url]', 'base URL of the API, e.g. http://127.0.0.1:8000/v1 (requests go to <base-url>/chat/completions)')
    .option('-d, --seed-documents <dir>', 'directory of seed documents (default: the shipped datasets/seed-documents)')
    .option('-c, --conversations <n>', 'conversations to hold', wholeNumber(1), d.conversations)
    .option('-t, --turns <n>', 'turns per conversation', wholeNumber(1), d.turns)
    .option('-m, --max-tokens <n>', 'max_tokens of every response', wholeNumber(1), d.maxOutputTokens)
    .option('-p, --parallel <n>', 'parallel workers, each holding one conversation at a time', wholeNumber(1), d.parallel)
    .option('--min-delay <seconds>', 'least think time before each request', finiteNumber(0), d.minDelay)
    .option('--max-delay <seconds>', 'most think time before each request', finiteNumber(0), d.maxDelay)
    .option('--timeout <seconds>', 'whole-request timeout', finiteNumber(0.001), d.timeout)
    .option('-v, --verbose', 'print a preview of every response')
    .option('--output-dir <dir>', 'where reports are written', 'results/multi-turn')
    .option('--save-requests', 'write every request to requests_multi_turn_{timestamp}.jsonl within 0.1 s of its end')
    .addOption(mockServer)
    .addOption(mockHost)
    .addOption(mockPort)
    .option('--no-mock-prefix-cache', "turn the built-in mock's prefix cache off (with --mock-server)")
    .option('--seed <n>', 'seed of every random choice (default: random, saved in the results)', wholeNumber(0))
    .option('--reset-cache-url <url>', "POST here before the first request to empty the server's prefix cache, e.g. http://host:8000/reset_prefix_cache")
    .option('--api-key <key>', 'Bearer token (default: $OPENAI_API_KEY); never written anywhere')
    .option('--model <name>', 'model name; default: the first id of GET <base-url>/models')
    .option('--header <header>', "extra request header 'Name: value' (repeatable)", headerPair)
    .option('--max-context-tokens <tokens>', 'drop the oldest turns (the document first) when the context exceeds this', wholeNumber(1))
    .option('--tokenizer <encoding>', 'tokenizer for counts the server does not report, and for --max-context-tokens', 'o200k_base')
    .option('--no-progress', 'no progress bar or progress lines')
    .addOption(maxErrorRateOption())
    .addOption(allowUnverifiedColdRoundOption())
    .action(async (baseUrl: string | undefined, flags: MultiTurnFlags) => {
      process.exitCode = await executeMultiTurn(baseUrl, flags)
    })
}

/** Runs `fluxperf multi-turn` and returns the exit code (reports are written even when requests failed). */
export async function executeMultiTurn(baseUrl: string | undefined, flags: MultiTurnFlags): Promise<number> {
  validate(baseUrl, flags)
  ensureOutputDir(flags.outputDir)
  const out = process.stdout
  const interrupts = handleInterrupts()
  let mock: MockServer | undefined
  let jsonl: JsonlWriter | undefined
  try {
    mock = await startFlaggedMock(flags, out, { prefixCache: flags.mockPrefixCache })
    const endpoint = `${(mock ? `${mock.url}/v1` : (baseUrl as string)).replace(/\/+$/, '')}/chat/completions`
    const progress = createProgress(process.stderr, flags.progress && !flags.verbose)
    const records: RequestRecord[] = []
    if (flags.saveRequests) jsonl = new JsonlWriter(join(flags.outputDir, `requests_multi_turn_${stamp()}.jsonl`))
    const options: MultiTurnOptions = {
      endpoint,
      documents: flags.seedDocuments,
      conversations: flags.conversations,
      turns: flags.turns,
      parallel: flags.parallel,
      minDelay: flags.minDelay,
      maxDelay: flags.maxDelay,
      maxOutputTokens: flags.maxTokens,
      timeout: flags.timeout,
      ...connectionSettings(flags, mock !== undefined),
      maxContextTokens: flags.maxContextTokens,
      model: flags.model,
      apiKey: flags.apiKey,
      headers: flags.header,
      seed: flags.seed,
      resetCacheUrl: flags.resetCacheUrl,
      tokenizer: flags.tokenizer as MultiTurnOptions['tokenizer'],
      signal: interrupts.signal,
      hooks: {
        onRoundStart: (info) => progress.start('multi-turn', info.total),
        onRequest(record) {
          records.push(record)
          jsonl?.write(record)
          progress.tick(record)
          if (flags.verbose) out.write(`${preview(record)}\n`)
        },
        onNotice: (message) => process.stderr.write(`fluxperf: ${message}\n`),
      },
    }
    const run = await runMultiTurn(options)
    progress.stop()
    run.outputDir = flags.outputDir
    const files = [...writeRunFiles(flags.outputDir, run)]
    const write = (name: string, text: string): void => {
      writeFileSync(join(flags.outputDir, name), text)
      files.push(join(flags.outputDir, name))
    }
    write('ttft_by_turn.csv', turnsCsv(run))
    write('document_types.csv', documentTypesCsv(run))
    write('requests.csv', [MULTI_TURN_REQUEST_COLUMNS.join(','), ...records.map(multiTurnRequestRow)].join('\n') + '\n')
    out.write(`\n${formatMultiTurnSummary(run)}\n`)
    return verdict(run, files, flags)
  } finally {
    jsonl?.close()
    interrupts.dispose()
    await mock?.close()
  }
}

/** The one-line verdict and the exit code (see `commonVerdict`; turn 1 is the cold round). */
function verdict(run: RunResult, files: string[], flags: VerdictFlags): number {
  const c = run.conversations
  return commonVerdict(run, `reports: ${files.join(', ')}`, process.stdout, {
    maxErrorRate: flags.maxErrorRate, allowUnverifiedColdRound: flags.allowUnverifiedColdRound, coldRounds: true,
    passedDetail: `, ${c?.completed ?? 0}/${c?.planned ?? 0} conversations completed`,
  })
}

function validate(baseUrl: string | undefined, flags: MultiTurnFlags): void {
  if (flags.mockServer && baseUrl) throw new InputError(`give either a base URL ("${baseUrl}") or --mock-server, not both`, '--mock-server')
  if (!flags.mockServer && !baseUrl) throw new InputError('a base URL is required, e.g. http://127.0.0.1:8000/v1, or --mock-server for the built-in mock', '<base-url>')
  if (baseUrl) {
    const url = parseEndpointUrl(baseUrl, '<base-url>')
    if (/\/(chat\/)?completions\/?$/.test(url.pathname)) {
      throw new InputError(`"${baseUrl}" is an endpoint; give the base URL (e.g. ${baseUrl.replace(/\/(chat\/)?completions\/?$/, '')}), requests go to <base-url>/chat/completions`, '<base-url>')
    }
  }
  if (flags.resetCacheUrl) parseEndpointUrl(flags.resetCacheUrl, '--reset-cache-url')
  if (flags.maxDelay < flags.minDelay) throw new InputError(`must be ≥ --min-delay (${flags.minDelay}), got ${flags.maxDelay}`, '--max-delay')
  if (!isEncodingName(flags.tokenizer)) throw new InputError(`unknown encoding "${flags.tokenizer}"; expected o200k_base, cl100k_base, p50k_base or r50k_base`, '--tokenizer')
  if (!flags.mockPrefixCache && !flags.mockServer) throw new InputError('only applies to the built-in mock; add --mock-server', '--no-mock-prefix-cache')
}

/** `-v`: one line per response. */
function preview(r: RequestRecord): string {
  const head = `[${r.sessionId} turn ${r.turnIndex + 1}]`
  if (!r.ok) return `${head} FAILED ${r.error?.kind}: ${r.error?.message}`
  // The model's answer: printed, so no terminal escapes through.
  const text = printable(r.outputText.replace(/\s+/g, ' ').trim())
  return `${head} TTFT ${r.ttftMs?.toFixed(1) ?? 'n/a'} ms, total ${r.latencyMs.toFixed(1)} ms, ${r.outputTokens} tokens: ${text.length > 100 ? `${text.slice(0, 100)}…` : text}`
}

function stamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '_')
}
