import { Option } from 'commander'
import type { Command } from 'commander'
import { apiEndpointUnder, parseEndpointUrl } from '../client/index.ts'
import { InputError } from '../errors.ts'
import { QaFiles } from '../report/index.ts'
import { ARRIVAL_PROCESSES } from '../schedule/index.ts'
import type { ArrivalProcess } from '../schedule/index.ts'
import type { MultiRoundQaResult } from '../types.ts'
import { MULTI_ROUND_QA, MULTI_ROUND_QA_DEFAULTS } from '../workloads/index.ts'
import type { MultiRoundQaHooks, MultiRoundQaOptions } from '../workloads/index.ts'
import { positiveNumber, wholeNumber } from './flags.ts'
import { workloadHelp } from './help.ts'
import { workloadCommand } from './workloadCommand.ts'
import type { CommonFlags, WorkloadCommandSpec } from './workloadCommand.ts'

/** Flags of `fluxperf multi-round-qa`, as commander hands them over. */
export interface MultiRoundQaFlags extends CommonFlags {
  numUsers: number
  sharedSystemPrompt: number
  userHistoryPrompt: number
  /** `--answer-len`, the Python tool's name for `--max-output-tokens`. */
  answerLen: number
  numRounds: number
  qps?: number
  baseUrl?: string
  time: number
  output: string
  logInterval: number
  sharegpt?: string
  initUserId: number
  arrival: ArrivalProcess
  burstiness: number
}

const d = MULTI_ROUND_QA_DEFAULTS

/** `fluxperf multi-round-qa`: users in an open loop at a target rate (the Python multi-round QA tool's command). */
export const MULTI_ROUND_QA_COMMAND: WorkloadCommandSpec<MultiRoundQaFlags, MultiRoundQaOptions, MultiRoundQaResult, MultiRoundQaHooks> = {
  name: 'multi-round-qa',
  description: 'Multi-round QA users in an open loop at a target QPS (the Python multi-round QA tool): every scheduled send accounted for',
  defaults: { outputDir: '.', timeout: 300 },
  coldRounds: false,
  definition: MULTI_ROUND_QA,
  addOptions: (command: Command) => command
    .option('--base-url <url>', 'server root, e.g. http://127.0.0.1:8000 (requests go to <base-url>/v1/chat/completions, or --api\'s path)')
    .option('--qps <rate>', 'target aggregate requests per second (required)', positiveNumber())
    .option('--num-users <n>', 'users active at once', wholeNumber(1), d.numUsers)
    .option('--shared-system-prompt <tokens>', 'tokens of the system prompt shared by every user', wholeNumber(0), d.sharedSystemPrompt)
    .option('--user-history-prompt <tokens>', "tokens of each user's own history", wholeNumber(0), d.userHistoryPrompt)
    .option('--answer-len <tokens>', 'max_tokens of every answer (same as --max-output-tokens)', wholeNumber(1), d.answerLen)
    .option('--num-rounds <n>', 'questions per user before a new user takes its place', wholeNumber(1), d.numRounds)
    .option('--time <seconds>', 'length of the schedule: sends are scheduled in [0, time)', positiveNumber(), d.time)
    .option('--output <file>', 'CSV of every scheduled send (relative to the current directory)', 'summary.csv')
    .option('--log-interval <seconds>', 'seconds between periodic summaries', positiveNumber(), d.logInterval)
    .option('--sharegpt <file>', 'take questions from a ShareGPT-style (or any loadable) dataset instead of synthetic ones')
    .option('--init-user-id <n>', 'id of the first user', wholeNumber(0), d.initUserId)
    .addOption(new Option('--arrival <process>', 'arrival process of the schedule').choices([...ARRIVAL_PROCESSES]).default(d.arrival))
    .option('--burstiness <k>', 'gamma shape with --arrival gamma: 1 is Poisson, < 1 burstier, > 1 more regular', positiveNumber(), d.burstiness),
  endpointOf: (flags) => (flags.baseUrl ? apiEndpointUnder(flags.baseUrl, flags.api) : undefined),
  validate(flags) {
    if (flags.qps === undefined) throw new InputError('the target rate is required, e.g. --qps 2', '--qps')
    if (flags.baseUrl) parseEndpointUrl(flags.baseUrl, '--base-url')
  },
  workloadOptions: (flags, settings) => ({
    ...settings,
    qps: flags.qps as number,
    numUsers: flags.numUsers,
    numRounds: flags.numRounds,
    sharedSystemPrompt: flags.sharedSystemPrompt,
    userHistoryPrompt: flags.userHistoryPrompt,
    answerLen: flags.answerLen,
    maxOutputTokens: flags.maxOutputTokens ?? flags.answerLen,
    time: flags.time,
    arrival: flags.arrival,
    burstiness: flags.burstiness,
    sharegpt: flags.sharegpt,
    initUserId: flags.initUserId,
    logInterval: flags.logInterval,
  }),
  requestLog: () => 'requests_multi_round_qa',
  reports(flags, progress, out) {
    const files = new QaFiles(flags.outputDir, flags.output, flags.qps as number)
    const hooks: MultiRoundQaHooks = {
      onRoundStart(info) {
        files.open()
        progress.start(info.label, info.total)
      },
      onRequest: (record) => progress.tick(record),
      onSendSettled: (send, record) => files.settled(send, record),
      onInterval: (snapshot) => out.write(`\n${files.interval(snapshot)}`),
    }
    return {
      hooks,
      finish(run, written) {
        progress.stop()
        out.write(`\n${files.finish(run)}`)
        return [...files.paths(), ...written]
      },
      where: (paths) => `files: ${paths.join(', ')}`,
      passedDetail: (run) => `, achieved ${run.openLoop.achievedRate.toFixed(2)} of ${run.openLoop.targetRate.toFixed(2)} QPS (${run.openLoop.late} late, ${run.openLoop.dropped} dropped of ${run.openLoop.scheduled} scheduled)`,
      beforeVerdict(run, stream) {
        const o = run.openLoop
        if (!run.interrupted && (o.late > 0 || o.dropped > 0)) {
          stream.write(`\nNote: ${o.late} of ${o.scheduled} sends went out late and ${o.dropped} were dropped: a user's previous answer was still streaming at its next send time. The server is slower than --num-users / --qps seconds per answer allows; see the schedule lag and the latency from the intended send.\n`)
        }
      },
    }
  },
}

export function multiRoundQaCommand(): Command {
  return workloadHelp(workloadCommand(MULTI_ROUND_QA_COMMAND), MULTI_ROUND_QA_COMMAND.coldRounds, { '--max-output-tokens': `--answer-len, ${d.answerLen}` })
}
