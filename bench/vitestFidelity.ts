/**
 * The fidelity scenario of `fidelity-cli --server c` through the Vitest path (issue 24, target 4): a user's
 * `vitest bench --run` with the `fluxperf()` plugin and a bench file calling `dualRound` (precision left at
 * its default, 'off'), against bench/timedServer.c. A `hooks.onRequest` in the bench file keeps every record;
 * they are compared with the server's truth as measureCliFidelity does (TTFT truth from the request's arrival).
 *
 *   SERVER_CPU=1 taskset -c 0 node bench/vitestFidelity.ts --streams 100
 *   SERVER_CPU=1 taskset -c 0 node bench/vitestFidelity.ts --streams 1000 --ttft 200 --itl 20 --tokens 64
 *
 * The Vitest project is written to a temporary directory (config, bench file, dataset; `node_modules` a
 * link to this checkout's, so `vitest` resolves as in a user's project), and `fluxperf` / `fluxperf/vitest`
 * point at this checkout's sources. Prints a CliFidelityResult as JSON.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { RequestRecord } from '../src/types.ts'
import { PROMPT_WORDS, TruthErrors, promptText, startTimedServerC } from './clientBench.ts'
import type { CliFidelityResult, CliFidelityRound } from './clientBench.ts'

const root = fileURLToPath(new URL('../', import.meta.url))
const src = (path: string): string => join(root, 'src', path)

export interface VitestFidelityOptions {
  ttft?: number
  itl?: number
  tokens?: number
  promptWords?: number
}

/** The Vitest config a user writes (README Quick start), with `fluxperf` resolved to this checkout. */
function configSource(dir: string): string {
  return `import { defineConfig } from 'vitest/config'
import { fluxperf } from ${JSON.stringify(src('vitest/index.ts'))}

export default defineConfig({
  // The C server keeps no prefix cache (nothing to reset), as fidelity-cli runs without --reset-cache.
  plugins: [fluxperf({ resetCache: false })],
  cacheDir: ${JSON.stringify(join(dir, '.vite'))},
  resolve: {
    alias: [
      { find: /^fluxperf\\/vitest$/, replacement: ${JSON.stringify(src('vitest/index.ts'))} },
      { find: /^fluxperf$/, replacement: ${JSON.stringify(src('index.ts'))} },
    ],
  },
})
`
}

/** One dual-round workload at `streams` concurrency over the dataset, precision at its default ('off'). */
function benchSource(streams: number, ttft: number, itl: number, tokens: number): string {
  return `import { writeFileSync } from 'node:fs'
import { expect, test } from 'vitest'
import { dualRound } from 'fluxperf'
import type { RequestRecord } from 'fluxperf'

test('fidelity at ${streams} streams', async () => {
  const records: RequestRecord[] = []
  const run = await dualRound({
    dataset: process.env['FIDELITY_DATASET'] as string,
    concurrency: [${streams}],
    seed: 1,
    headers: { 'x-bench-tokens': '${tokens}', 'x-bench-ttft': '${ttft}', 'x-bench-itl': '${itl}' },
    hooks: { onRequest: (r) => void records.push(r) },
  })
  writeFileSync(process.env['FIDELITY_RECORDS'] as string, records.map((r) => JSON.stringify(r)).join('\\n') + '\\n')
  expect(run).toHaveErrorRate({ below: 0.01 })
})
`
}

/** Runs `vitest bench --run` in `dir` (the user's command), with `env` added; rejects with its output on failure. */
function vitestBench(dir: string, env: Record<string, string>): Promise<string> {
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vitest, 'bench', '--run'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: '', GITHUB_STEP_SUMMARY: '', FLUXPERF_SHARD: '', FLUXPERF_START_AT: '', ...env },
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`vitest bench exited ${code}:\n${output.slice(-4000)}`))))
  })
}

/**
 * The fidelity measurement as a Vitest user gets it: `vitest bench --run` (a process of its own, workers as
 * Vitest forks them, no Node flags, precision 'off') running one `dualRound` at `streams` concurrency against
 * bench/timedServer.c, started here and stopped before returning. Each prompt carries its truth id.
 */
export async function measureVitestFidelity(streams: number, options: VitestFidelityOptions = {}): Promise<CliFidelityResult> {
  const { ttft = 200, itl = 20, tokens = 64, promptWords = PROMPT_WORDS } = options
  const dir = mkdtempSync(join(tmpdir(), 'fluxperf-vitest-fidelity-'))
  const server = await startTimedServerC(ttft, itl, tokens).catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true })
    throw error
  })
  try {
    const runId = `v${Date.now()}`
    const dataset = join(dir, 'prompts.jsonl')
    const recordsFile = join(dir, 'records.jsonl')
    writeFileSync(dataset, Array.from({ length: streams }, (_, i) => JSON.stringify({ text: `bench-id:${runId}-${i} ${promptText(i, promptWords)}` })).join('\n') + '\n')
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
    writeFileSync(join(dir, 'vitest.config.mts'), configSource(dir))
    writeFileSync(join(dir, 'fidelity.bench.ts'), benchSource(streams, ttft, itl, tokens))
    await vitestBench(dir, { FLUXPERF_ENDPOINT: server.url, FIDELITY_DATASET: dataset, FIDELITY_RECORDS: recordsFile })
    const truthOf = await server.truthAfterRun()
    const records = readFileSync(recordsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RequestRecord)
    const rounds: CliFidelityRound[] = []
    for (const round of [...new Set(records.map((r) => r.round))].sort((a, b) => a - b)) {
      const errors = new TruthErrors()
      for (const r of records.filter((x) => x.round === round)) errors.add(r, await truthOf(r.promptPreview.split(' ')[0] as string, round))
      rounds.push({ round, ...errors.summary() })
    }
    return { streams, ttftTruthMs: ttft, itlTruthMs: itl, tokens, rounds }
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      streams: { type: 'string', default: '100' },
      ttft: { type: 'string', default: '200' },
      itl: { type: 'string', default: '20' },
      tokens: { type: 'string', default: '64' },
      'prompt-words': { type: 'string', default: String(PROMPT_WORDS) },
    },
  })
  const number = (flag: 'ttft' | 'itl' | 'tokens' | 'streams' | 'prompt-words'): number => {
    const value = Number(values[flag])
    const ms = flag === 'ttft' || flag === 'itl'
    if (!(value > 0) || !Number.isFinite(value) || (!ms && !Number.isInteger(value))) {
      throw new Error(`--${flag}: expected a positive ${ms ? 'number of ms' : 'whole number'}, got "${values[flag]}"`)
    }
    return value
  }
  const result = await measureVitestFidelity(number('streams'), { ttft: number('ttft'), itl: number('itl'), tokens: number('tokens'), promptWords: number('prompt-words') })
  console.log(JSON.stringify(result, null, 2))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await cli().catch((error: unknown) => {
    process.stderr.write(`vitestFidelity: ${(error as Error).message}\n`)
    process.exitCode = 2
  })
}
