/** `fluxperf merge <shard dirs...> -o <dir>`: the shards of one run merged exactly into the run they make up. */

import { createReadStream, createWriteStream, existsSync, readdirSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Command } from 'commander'
import { loadRun, MAX_START_SPREAD_MS, mergeRuns, ShardMissingError } from '../merge/index.ts'
import type { ShardRun } from '../merge/index.ts'
import { appendStepSummary, ensureOutputDir, formatRound, stepSummaryMarkdown, writeRunFiles } from '../report/index.ts'
import { loadReportInput, writeHtmlReport } from '../report/html/index.ts'
import { loadSloFile } from '../slo/index.ts'
import { EXIT } from './exitCodes.ts'
import { finiteNumber } from './flags.ts'
import { showDefaults, showExitCodes, USAGE } from './help.ts'
import { allowUnverifiedColdRoundOption, judge, maxErrorRateOption } from './verdict.ts'

interface MergeFlags {
  output: string
  sloFile?: string
  maxStartSpread: number
  report: boolean
  maxErrorRate?: number
  allowUnverifiedColdRound?: boolean
}

/** Exit codes of `fluxperf merge`. */
export const MERGE_EXIT_CODES: [number, string][] = [
  [EXIT.ok, 'merged, and the merged run passed (its SLO, when --slo-file is given)'],
  [EXIT.failed, 'a shard is missing, repeated or did not finish; or the merged run failed (failed requests, as for the other commands)'],
  [...USAGE],
  [EXIT.sloMissed, 'the merged run missed its SLO'],
]

export function mergeCommand(): Command {
  const command = new Command('merge')
    .description('merge the shards of one run (--shard i/n, same --seed) exactly: histograms added, counts summed, durations from the first start to the last end; the same reports as a single run')
    .argument('<shards...>', 'the shards\' output directories')
    .requiredOption('-o, --output <dir>', 'where the merged run\'s reports go')
    .option('--slo-file <file>', 'judge the merged run against this SLO (exit 99 when missed)')
    .option('--max-start-spread <ms>', 'flag shards whose schedules started further apart than this', finiteNumber(0), MAX_START_SPREAD_MS)
    .option('--no-report', 'write no report.html')
    .addOption(maxErrorRateOption())
    .addOption(allowUnverifiedColdRoundOption())
    .action(async (shards: string[], flags: MergeFlags) => {
      process.exitCode = await merge(shards, flags)
    })
  showDefaults(command, { '--slo-file': 'none' })
  return showExitCodes(command, MERGE_EXIT_CODES)
}

async function merge(paths: string[], flags: MergeFlags): Promise<number> {
  const out = process.stdout
  const shards: ShardRun[] = []
  try {
    for (const path of paths) {
      if (!existsSync(path)) throw new ShardMissingError(`${path}: no such directory (a shard that never ran?)`)
      if (statSync(path).isDirectory() && !existsSync(join(path, 'run.json'))) throw new ShardMissingError(`${path}: no run.json (the shard failed before writing its results)`)
      // A directory by its name; a file (a Vitest reporter's <test>.json) by its directory and name, as each shard's has the same.
      const clean = path.replace(/[\\/]+$/, '')
      const name = statSync(clean).isDirectory() ? basename(clean) || clean : `${basename(dirname(resolve(clean)))}/${basename(clean)}`
      shards.push({ name, run: loadRun(path) })
    }
    const slo = flags.sloFile ? await loadSloFile(flags.sloFile) : undefined
    const { run, notes } = mergeRuns(shards, flags.maxStartSpread)
    if (slo) run.slo = slo.source
    ensureOutputDir(flags.output, '--output')
    run.outputDir = flags.output
    const files = writeRunFiles(flags.output, run)
    const requests = await concatRequestLogs(paths, join(flags.output, 'requests_merged.jsonl'))
    out.write(`Merged ${shards.length} shards of a ${run.workload} run (seed ${run.seed}) into ${flags.output}${requests > 0 ? `: ${requests} saved requests in requests_merged.jsonl` : ''}\n`)
    for (const note of notes) out.write(`Note: ${note}\n`)
    for (const round of run.rounds) out.write(`\n${formatRound(round)}\n`)
    if (flags.report) {
      const file = join(flags.output, 'report.html')
      try {
        await writeHtmlReport([await loadReportInput(flags.output)], file)
        out.write(`\nHTML report: ${file}\n`)
      } catch (error) {
        process.stderr.write(`fluxperf: warning: could not write ${file} (${(error as Error).message}); the other reports are complete\n`)
      }
    }
    const coldRounds = run.workload === 'dual-round' || run.workload === 'multi-turn'
    const { code, line } = judge(run, `reports in ${flags.output}/ (${files.map((f) => basename(f)).join(', ')})`, out, { maxErrorRate: flags.maxErrorRate, allowUnverifiedColdRound: flags.allowUnverifiedColdRound, slo, coldRounds })
    appendStepSummary(stepSummaryMarkdown('fluxperf merge', [{ name: flags.output, run, verdict: line }]))
    return code
  } catch (error) {
    if (error instanceof ShardMissingError) {
      process.stderr.write(`fluxperf: merge: ${error.message}\n`)
      return EXIT.failed
    }
    throw error
  }
}

/** Every shard's per-request JSONL (`--save-requests`) into one file, in shard order; the lines written. */
async function concatRequestLogs(dirs: readonly string[], target: string): Promise<number> {
  const logs = dirs.flatMap((d) => (statSync(d).isDirectory() ? readdirSync(d).filter((f) => /^requests.*\.jsonl$/.test(f)).sort().map((f) => join(d, f)) : []))
  if (logs.length === 0) return 0
  const sink = createWriteStream(target)
  let lines = 0
  for (const log of logs) {
    const source = createReadStream(log)
    source.on('data', (chunk) => {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++
    })
    await pipeline(source, sink, { end: false })
  }
  await new Promise<void>((resolve, reject) => sink.end((error?: Error | null) => (error ? reject(error) : resolve())))
  return lines
}

