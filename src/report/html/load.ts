import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { readBaseline } from '../../baseline/index.ts'
import { InputError } from '../../errors.ts'
import type { CapacityResult } from '../../types.ts'
import type { ReportInput } from './build.ts'
import { TimedRequestLog } from './timedRequests.ts'
import type { TimedRequest } from './timedRequests.ts'

/**
 * A run to report on, from what `fluxperf run` & co. wrote: a run directory (its `run.json`, and the
 * `requests_*.jsonl` files of `--save-requests` when there are any) or a `run.json` / baseline file.
 * @throws InputError naming the path when it holds no run
 */
export async function loadReportInput(path: string): Promise<ReportInput> {
  let file = path
  let dir: string | undefined
  if (existsSync(path) && statSync(path).isDirectory()) {
    dir = path
    file = join(path, 'run.json')
    if (!existsSync(file)) throw new InputError('no run.json in this directory; expected a run directory (--output-dir of a fluxperf command) or a run.json file', path)
  } else if (!existsSync(path)) {
    throw new InputError('no such file or directory; expected a run directory or a run.json file', path)
  } else if (basename(path) === 'run.json') {
    dir = dirname(path)
  }
  const run = readBaseline(file)
  const name = dir ? basename(dir.replace(/[\\/]+$/, '')) || dir : basename(file).replace(/\.json$/, '')
  const logs = dir ? requestLogs(dir) : []
  return logs.length > 0 ? { name, run, requests: await readRequests(logs) } : { name, run }
}

/**
 * A capacity sweep's directory (`fluxperf sweep --output-dir`): its `capacity.json` and every step's run in
 * `steps/`, in step order; undefined when `path` is not one.
 * @throws InputError naming the file when capacity.json is not a sweep's result
 */
export async function loadSweepInputs(path: string): Promise<{ capacity: CapacityResult; inputs: ReportInput[] } | undefined> {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'capacity.json') : basename(path) === 'capacity.json' ? path : undefined
  if (!file || !existsSync(file)) return undefined
  let capacity: CapacityResult
  try {
    capacity = JSON.parse(readFileSync(file, 'utf8')) as CapacityResult
  } catch (error) {
    throw new InputError(`not valid JSON (${(error as Error).message})`, file)
  }
  if (capacity?.kind !== 'capacity' || !Array.isArray(capacity.steps)) throw new InputError('expected the capacity.json of fluxperf sweep', file)
  const steps = join(dirname(file), 'steps')
  const inputs: ReportInput[] = []
  if (existsSync(steps)) for (const dir of readdirSync(steps).sort()) if (existsSync(join(steps, dir, 'run.json'))) inputs.push(await loadReportInput(join(steps, dir)))
  return { capacity, inputs }
}

/** The per-request logs of a run directory, in name order (round, level, time). */
function requestLogs(dir: string): string[] {
  return readdirSync(dir).filter((f) => /^requests.*\.jsonl$/.test(f)).sort().map((f) => join(dir, f))
}

/** The timing fields of every request in the logs, held as the CLI holds them; lines that are not records are skipped. */
async function readRequests(files: string[]): Promise<TimedRequestLog> {
  const requests = new TimedRequestLog()
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
    for await (const line of lines) {
      if (!line) continue
      let record: Partial<TimedRequest>
      try {
        record = JSON.parse(line) as Partial<TimedRequest>
      } catch {
        continue // a line cut short by an interrupted run
      }
      if (typeof record.startedAt !== 'number' || typeof record.latencyMs !== 'number') continue
      requests.add({
        startedAt: record.startedAt, latencyMs: record.latencyMs, ttftMs: record.ttftMs ?? null, ok: record.ok === true,
        ...(record.scheduledAt !== undefined ? { scheduledAt: record.scheduledAt } : {}),
        ...(record.error ? { error: record.error } : {}),
      })
    }
  }
  return requests
}
