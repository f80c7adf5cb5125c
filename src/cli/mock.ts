/**
 * `fluxperf mock`: runs the built-in mock serving engine until SIGINT/SIGTERM/SIGHUP or its parent exits. Parses flags and
 * calls `startMockServer`; every option of the engine is a flag, with its default from MOCK_DEFAULTS.
 */

import { Command, Option } from 'commander'
import { InputError } from '../errors.ts'
import { startMockServer } from '../mock/index.ts'
import type { MockServer, MockServerOptions } from '../mock/index.ts'
import {
  MOCK_DEFAULTS,
  NUMBER_LIMITS,
  type NumberLimit,
  describeLimit,
  resolveMockOptions,
  withinLimit,
} from '../mock/options.ts'
import { MOCK_EXIT_CODES, showExitCodes } from './help.ts'
import { onParentExit } from './signals.ts'

/** Port of the standalone mock (programmatic use defaults to 0, a free port). */
export const MOCK_CLI_PORT = 8001

interface FlagSpec {
  key: keyof MockServerOptions
  /** `--name <arg>`, or `--no-name` for a boolean that defaults to true. */
  flags: string
  description: string
}

const FLAG_SPECS: FlagSpec[] = [
  { key: 'host', flags: '--host <host>', description: 'interface to bind' },
  { key: 'port', flags: '--port <port>', description: 'port to bind (0: any free port)' },
  { key: 'model', flags: '--model <id>', description: 'model id served by /v1/models and used in /metrics labels' },
  { key: 'strictModel', flags: '--strict-model', description: 'answer 404 to a request naming another model than --model, as vLLM does' },
  { key: 'maxModelLen', flags: '--max-model-len <tokens>', description: 'context window; prompt + max_tokens above it is a 400' },
  { key: 'defaultMaxTokens', flags: '--default-max-tokens <tokens>', description: 'tokens generated when a request sets no max_tokens' },
  { key: 'prefillTokensPerS', flags: '--prefill-tokens-per-s <rate>', description: 'prefill throughput (uncached prompt tokens/s), shared by all requests' },
  { key: 'baseLatencyMs', flags: '--base-latency-ms <ms>', description: 'fixed part of TTFT' },
  { key: 'itlMs', flags: '--itl-ms <ms>', description: 'inter-token latency with one running sequence' },
  { key: 'itlPerSeqMs', flags: '--itl-per-seq-ms <ms>', description: 'extra ITL per additional running sequence' },
  { key: 'maxNumSeqs', flags: '--max-num-seqs <n>', description: 'sequences decoded at once; the rest wait (FIFO)' },
  { key: 'prefillStallsDecode', flags: '--no-prefill-stalls-decode', description: 'decode steps no longer wait while a prefill runs' },
  { key: 'tokensPerChunk', flags: '--tokens-per-chunk <n>', description: 'tokens per chunk after the first (speculative decoding)' },
  { key: 'reasoningTokens', flags: '--reasoning-tokens <n>', description: 'first N tokens of a chat or /v1/responses answer are reasoning (header x-mock-reasoning-tokens)' },
  {
    key: 'reasoningField',
    flags: '--reasoning-field <field>',
    description:
      'how reasoning is sent: reasoning_content or reasoning (chat delta field; newer vLLM says reasoning), or tags ' +
      '(<think>…</think> in the content, no reasoning parser) (header x-mock-reasoning-field)',
  },
  { key: 'jitter', flags: '--jitter <fraction>', description: 'random variation of every modelled duration (0.05 = ±5%)' },
  { key: 'seed', flags: '--seed <n>', description: 'seed of jitter and injected faults' },
  { key: 'timeScale', flags: '--time-scale <factor>', description: 'multiplies every modelled duration (0.1 = ten times faster)' },
  { key: 'prefixCache', flags: '--no-prefix-cache', description: 'turn the prefix cache off' },
  { key: 'blockSize', flags: '--block-size <tokens>', description: 'prefix cache block size' },
  { key: 'cacheCapacityTokens', flags: '--cache-capacity-tokens <tokens>', description: 'prefix cache capacity (LRU eviction beyond)' },
  { key: 'errorRate', flags: '--error-rate <fraction>', description: 'share of requests answered with --error-status' },
  { key: 'errorStatus', flags: '--error-status <status>', description: 'status of injected errors' },
  { key: 'rateLimitRps', flags: '--rate-limit-rps <rate>', description: 'requests/s above which the mock answers 429 (0: no limit)' },
  { key: 'retryAfterS', flags: '--retry-after <seconds>', description: 'Retry-After of a 429' },
  { key: 'fault', flags: '--fault <directives>', description: "faults for every request, as the x-mock-fault header (e.g. 'stall=200@5,drop-after=20')" },
  { key: 'faultRate', flags: '--fault-rate <fraction>', description: 'share of requests --fault applies to' },
]

function defaultOf(key: keyof MockServerOptions): string | number | boolean {
  return key === 'port' ? MOCK_CLI_PORT : MOCK_DEFAULTS[key]
}

function optionFor(spec: FlagSpec): Option {
  const option = new Option(spec.flags, spec.description)
  const value = defaultOf(spec.key)
  // Booleans are `--no-x` flags: commander defaults them to true itself; '' means none.
  if (typeof value !== 'boolean' && value !== '') option.default(value)
  return option
}

/** Option key → what the user types and what commander calls the parsed value. */
const NAMES = new Map(
  FLAG_SPECS.map((spec) => {
    const option = new Option(spec.flags)
    return [spec.key, { flag: option.long ?? spec.flags, attribute: option.attributeName() }]
  }),
)

/** The flag a user types for an option key, e.g. `--prefill-tokens-per-s`. */
function flagName(key: keyof MockServerOptions): string {
  return NAMES.get(key)?.flag ?? key
}

function parseNumber(raw: unknown, key: keyof typeof NUMBER_LIMITS, limit: NumberLimit): number {
  const text = typeof raw === 'string' ? raw.trim() : raw
  const value = typeof text === 'number' ? text : text === '' ? NaN : Number(text)
  if (!withinLimit(value, limit)) {
    throw new InputError(`expected ${describeLimit(limit)}, got ${JSON.stringify(raw)}`, flagName(key))
  }
  return value
}

/**
 * Turns the flags of `fluxperf mock` (commander's parsed values, strings or numbers, keyed by
 * attribute name: `port`, `prefillTokensPerS`, ...) into checked `MockServerOptions`. A bad value
 * throws `InputError` naming the flag. Missing flags take the mock's defaults, except `port`,
 * which is left to the caller when absent. Reusable by any command that starts the mock.
 */
export function mockOptionsFromFlags(flags: Record<string, unknown>): MockServerOptions {
  const options: Record<string, unknown> = {}
  for (const spec of FLAG_SPECS) {
    const raw = flags[NAMES.get(spec.key)!.attribute]
    if (raw === undefined) continue
    const limit = (NUMBER_LIMITS as Record<string, NumberLimit | undefined>)[spec.key]
    if (limit) options[spec.key] = parseNumber(raw, spec.key as keyof typeof NUMBER_LIMITS, limit)
    else if (typeof MOCK_DEFAULTS[spec.key] === 'boolean') options[spec.key] = raw !== false && raw !== 'false'
    else options[spec.key] = String(raw)
  }
  // Cross-checks (fault syntax, empty model) with flag names in the message.
  resolveMockOptions(options as MockServerOptions, flagName)
  return options as MockServerOptions
}

export interface ServeMockIo {
  /** Where the URL and the stop notice go. @default process.stdout */
  out?: { write(text: string): unknown }
  /** Stops the server when aborted. @default SIGINT, SIGTERM or SIGHUP, or the parent process exiting */
  signal?: AbortSignal
}

/**
 * Starts the mock, prints where it listens, and serves until `signal` aborts (without one: until SIGINT,
 * SIGTERM or SIGHUP, or until the parent process exits, see `onParentExit`); then closes it.
 */
export async function serveMock(options: MockServerOptions, io: ServeMockIo = {}): Promise<MockServer> {
  const out = io.out ?? process.stdout
  let server: MockServer
  try {
    server = await startMockServer(options)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // A port in use (or not ours to bind) is the user's input, not a failure of the run.
    if (code === 'EADDRINUSE') throw new InputError(`port ${options.port} on ${options.host ?? '127.0.0.1'} is in use; choose another, or --port 0 for any free one`, '--port')
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new InputError(`cannot listen on ${options.host ?? '127.0.0.1'}:${options.port} (${code})`, code === 'EACCES' ? '--port' : '--host')
    throw error
  }
  out.write(
    `fluxperf mock: serving ${server.model} at ${server.url} ` +
      `(${server.url}/v1/chat/completions, /v1/completions, /v1/responses, /v1/models, /health, /metrics); Ctrl-C to stop\n`,
  )
  const why = await new Promise<string | undefined>((resolve) => {
    if (io.signal) {
      if (io.signal.aborted) resolve(undefined)
      else io.signal.addEventListener('abort', () => resolve(undefined), { once: true })
      return
    }
    const stop = (reason: string): void => {
      for (const name of STOP_SIGNALS) process.off(name, stop)
      stopWatching()
      resolve(reason)
    }
    for (const name of STOP_SIGNALS) process.on(name, stop)
    const stopWatching = onParentExit(() => {
      // The parent (npm under npx, a shell) is gone, and with it perhaps the reader of stdout: a write
      // that finds the pipe closed must not turn a clean stop into a crash.
      for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})
      stop('its parent process exited')
    })
  })
  await server.close()
  const stats = server.stats()
  out.write(`fluxperf mock: stopped${why ? ` (${why})` : ''} after ${stats.requests} requests (${stats.completed} completed)\n`)
  return server
}

/** Signals that stop the standalone mock: Ctrl-C, `kill`, and the terminal closing. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export function mockCommand(): Command {
  const command = new Command('mock')
    .description(
      'Run the built-in mock serving engine: an OpenAI-compatible server (chat, completions and the Responses ' +
        'API, with reasoning and tool calls) with a latency model, a prefix cache, /metrics and fault injection ' +
        '(per-request faults: x-mock-fault header; see the README)',
    )
    .action(async (flags: Record<string, unknown>) => {
      await serveMock(mockOptionsFromFlags(flags))
    })
  for (const spec of FLAG_SPECS) command.addOption(optionFor(spec))
  return showExitCodes(command, MOCK_EXIT_CODES)
}
