/**
 * `fluxperf prometheus check URL [--metrics NAME...]`, and the glue from `run`'s `--prometheus-*` flags
 * to the workload's Prometheus options.
 */

import { Command } from 'commander'
import { InputError } from '../errors.ts'
import { readSelected } from '../metrics/prometheus.ts'
import type { PrometheusOptions } from '../metrics/prometheus.ts'
import { scrape } from '../metrics/prometheusScrape.ts'
import { parseSelector, selectSeries } from '../metrics/prometheusSelector.ts'
import { EXIT } from './exitCodes.ts'
import { finiteNumber } from './flags.ts'
import { GROUP_EXIT_CODES, PROMETHEUS_CHECK_EXIT_CODES, showDefaults, showExitCodes } from './help.ts'

/** The `--prometheus-*` flags of `run`. */
export interface PrometheusFlags {
  prometheusUrl?: string
  prometheusMetrics?: string[]
  prometheusMode?: 'round' | 'request'
  prometheusInterval?: number
}

/**
 * Workload options from `run`'s flags; undefined without `--prometheus-url`. `auto` is the endpoint's
 * own `/metrics` (vLLM, SGLang and the mock serve it on the API port).
 * @throws InputError for metrics without a URL, a URL that is not http(s), or a malformed selector.
 */
export function prometheusRunOptions(flags: PrometheusFlags, endpoint: string): PrometheusOptions | undefined {
  if (!flags.prometheusUrl) {
    if (flags.prometheusMetrics?.length) throw new InputError('needs --prometheus-url (the exposition URL, e.g. http://host:8000/metrics)', '--prometheus-metrics')
    return undefined
  }
  const url = flags.prometheusUrl === 'auto' ? `${new URL(endpoint).origin}/metrics` : flags.prometheusUrl
  checkUrl(url, '--prometheus-url')
  for (const m of flags.prometheusMetrics ?? []) parseSelector(m)
  return {
    url,
    metrics: flags.prometheusMetrics,
    mode: flags.prometheusMode ?? 'round',
    intervalS: flags.prometheusInterval ?? 5,
  }
}

function checkUrl(url: string, flag: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InputError(`"${url}" is not a URL; expected e.g. http://127.0.0.1:8000/metrics`, flag)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InputError(`"${url}" is not an http(s) URL`, flag)
}

interface CheckFlags {
  metrics?: string[]
  timeout: number
}

export function prometheusCommand(): Command {
  const prometheus = new Command('prometheus').description('Prometheus helpers: check that fluxperf can read an exposition endpoint')
  prometheus
    .command('check')
    .description('scrape URL once and list the metrics it exposes (name, type, series), or say why it cannot be read; exit 0 readable, 1 not')
    .argument('<url>', "the exposition URL, e.g. http://127.0.0.1:8000/metrics (a server's own /metrics, not Prometheus' query API)")
    .option('--metrics <name...>', 'only these metrics (label matchers allowed); exit 1 when one is missing')
    .option('--timeout <seconds>', 'scrape timeout', finiteNumber(0.1), 5)
    .action(async (url: string, flags: CheckFlags) => {
      process.exitCode = await checkPrometheus(url, flags)
    })
  for (const command of prometheus.commands) {
    command.exitOverride().showHelpAfterError('(run with --help for usage)')
    showDefaults(command, { '--metrics': 'every metric exposed' })
    showExitCodes(command, PROMETHEUS_CHECK_EXIT_CODES)
  }
  return showExitCodes(prometheus, GROUP_EXIT_CODES)
}

async function checkPrometheus(url: string, flags: CheckFlags): Promise<number> {
  checkUrl(url, 'prometheus check')
  const selectors = (flags.metrics ?? []).map((m) => parseSelector(m, '--metrics'))
  const out = process.stdout
  const result = await scrape(url, flags.timeout * 1000)
  if (!result.ok) {
    out.write(`NOT READABLE: ${result.error}\n`)
    return EXIT.failed
  }
  const { exposition } = result
  const rows: [string, string, string][] = []
  let missing = 0
  if (selectors.length > 0) {
    for (const selector of selectors) {
      const series = selectSeries(selector, exposition.series)
      if (series.length === 0) missing++
      const types = [...new Set(series.map((s) => s.type))].join('/') || '-'
      rows.push([selector.text, series.length === 0 ? 'MISSING' : types, String(series.length)])
    }
  } else {
    for (const family of [...exposition.families.values()].sort((a, b) => a.name.localeCompare(b.name))) rows.push([family.name, family.type, String(family.samples)])
  }
  const nameW = Math.max(6, ...rows.map((r) => r[0].length)) + 2
  out.write(`${url}: ${exposition.families.size} metric families, ${exposition.series.length} series (${result.contentType.split(';')[0] || 'no content-type'})\n\n`)
  out.write(`${'metric'.padEnd(nameW)}${'type'.padEnd(12)}series\n`)
  for (const [name, type, count] of rows) out.write(`${name.padEnd(nameW)}${type.padEnd(12)}${count}\n`)
  const cache = readSelected(exposition, [], 0).prefixCache
  out.write(cache
    ? `\nPrefix-cache hit rate: available (vLLM hits/queries counters; ${cache.hits} hits / ${cache.queries} queries since start)\n`
    : '\nPrefix-cache hit rate: not available (no vLLM prefix_cache_hits/queries counters)\n')
  if (missing > 0) {
    out.write(`\nMISSING: ${missing} of ${selectors.length} requested metrics are not exposed\n`)
    return EXIT.failed
  }
  out.write('\nOK: readable\n')
  return EXIT.ok
}
