/**
 * `fluxperf data`: dataset preparation.
 * - `data sharegpt <file-or-dir> <out.jsonl>`: ShareGPT dumps → session JSONL
 * - `data longbench (--input F | --input-dir D | --dataset NAME) --output OUT`: LongBench → prompts
 * - `data validate FILE`: every malformed line with its number and reason (exit 2 if any)
 */

import { Command, Option } from 'commander'
import { validateDataset } from '../data/index.ts'
import { convertLongBench, convertShareGpt, HF_DATASETS_SERVER } from '../data/convert/index.ts'
import type { ConvertReport, LongBenchReport } from '../data/convert/index.ts'
import { EXIT } from './exitCodes.ts'
import { wholeNumber } from './flags.ts'
import { CONVERT_EXIT_CODES, GROUP_EXIT_CODES, showExitCodes, VALIDATE_EXIT_CODES } from './help.ts'

interface ShareGptFlags {
  maxSessions?: number
  minTurns: number
}

interface LongBenchFlags {
  input?: string
  inputDir?: string
  dataset?: string
  output: string
  numSamples?: number
  seed: number
  format: 'text' | 'messages'
  allowRepeat?: boolean
  hfBaseUrl: string
  hfDataset: string
  split: string
  retries: number
}

export function dataCommand(): Command {
  const data = new Command('data').description('prepare datasets: convert ShareGPT and LongBench, validate a dataset file')
  data
    .command('sharegpt')
    .description('ShareGPT JSON (a file or a directory; JSON arrays or JSONL) → {"session_id", "user_messages", "source"} JSONL')
    .argument('<input>', 'a ShareGPT .json/.jsonl file, or a directory of them')
    .argument('<output>', 'the JSONL file to write')
    .option('--max-sessions <n>', 'stop after n sessions (default: all)', wholeNumber(1))
    .option('--min-turns <k>', 'keep conversations with at least k human turns', wholeNumber(1), 1)
    .action(async (input: string, output: string, flags: ShareGptFlags) => {
      const report = await convertShareGpt({ input, output, maxSessions: flags.maxSessions, minTurns: flags.minTurns })
      printReport(report, 'sessions')
      process.exitCode = EXIT.ok
    })
  data
    .command('longbench')
    .description('LongBench rows (context + input) → long single-turn prompts, de-duplicated and sampled without repeats')
    .option('--input <file>', 'a LongBench .jsonl (or .json) file')
    .option('--input-dir <dir>', 'a directory of LongBench .jsonl files (e.g. the unpacked data.zip)')
    .option('--dataset <name>', 'download this LongBench config (e.g. narrativeqa) through the Hugging Face datasets server')
    .requiredOption('--output <file>', 'the JSONL file to write')
    .option('--num-samples <n>', 'rows to keep, a seeded sample (default: all)', wholeNumber(1))
    .option('--seed <n>', 'seed of the sample', wholeNumber(0), 42)
    .addOption(new Option('--format <format>', 'text: {"id", "text"}; messages: {"id", "messages": [{"role": "user", ...}]}').choices(['text', 'messages']).default('text'))
    .option('--allow-repeat', 'allow --num-samples above the number of distinct rows (rows then repeat)')
    .option('--hf-base-url <url>', 'datasets server to download from', HF_DATASETS_SERVER)
    .option('--hf-dataset <repo>', 'Hugging Face dataset repository of --dataset', 'THUDM/LongBench')
    .option('--split <split>', 'split of --dataset', 'test')
    .option('--retries <n>', 'retries of a page that fails (429, 5xx, network)', wholeNumber(0), 4)
    .action(async (flags: LongBenchFlags) => {
      const report = await convertLongBench({
        input: flags.input,
        inputDir: flags.inputDir,
        dataset: flags.dataset,
        output: flags.output,
        numSamples: flags.numSamples,
        seed: flags.seed,
        format: flags.format,
        allowRepeat: flags.allowRepeat,
        hf: {
          baseUrl: flags.hfBaseUrl,
          dataset: flags.hfDataset,
          split: flags.split,
          retries: flags.retries,
          onProgress: (done, total) => process.stderr.write(`downloaded ${done}/${total} rows\n`),
          onRetry: (message) => process.stderr.write(`fluxperf: ${message}\n`),
        },
      })
      printReport(report, 'prompts')
      process.exitCode = EXIT.ok
    })
  data
    .command('validate')
    .description('check a dataset file: every malformed line with its number and reason; exit 2 if any, 0 with the row count')
    .argument('<file>', 'a JSONL or JSON-array dataset')
    .action(async (file: string) => {
      const report = await validateDataset(file)
      const out = process.stdout
      for (const p of report.problems) out.write(`${p.where}: ${p.message}\n`)
      if (report.problems.length > 0) {
        out.write(`\nINVALID: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in ${file} (${report.rows} valid rows)\n`)
        process.exitCode = EXIT.usage
      } else {
        out.write(`OK: ${file}: ${report.rows} rows\n`)
        process.exitCode = EXIT.ok
      }
    })
  for (const command of data.commands) {
    command.exitOverride().showHelpAfterError('(run with --help for usage)')
    showExitCodes(command, command.name() === 'validate' ? VALIDATE_EXIT_CODES : CONVERT_EXIT_CODES)
  }
  return showExitCodes(data, GROUP_EXIT_CODES)
}

function printReport(report: ConvertReport | LongBenchReport, what: string): void {
  const out = process.stdout
  const skipped = Object.entries(report.skipped)
  out.write(`Read ${report.read} rows from ${report.files.length === 1 ? report.files[0] : `${report.files.length} files`}\n`)
  if ('distinct' in report) {
    out.write(`Distinct rows: ${report.distinct} (${report.duplicates} duplicates removed)\n`)
    if (report.repeated > 0) out.write(`Warning: ${report.repeated} rows repeat (--allow-repeat); repeated prompts hit a prefix cache even in round 1\n`)
  }
  if (skipped.length > 0) {
    out.write(`Skipped: ${skipped.map(([reason, n]) => `${n} (${reason})`).join(', ')}\n`)
    for (const e of report.examples) out.write(`  e.g. ${e}\n`)
  }
  out.write(`Wrote ${report.written} ${what} to ${report.output}\n`)
}
