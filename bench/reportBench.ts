/**
 * The HTML report of a large run: how long building its data takes in Node, how big the file is, and how long
 * Chromium takes to open it from disk and draw every chart (until the viewer sets `data-ready`). The run is
 * synthetic (a dual-round result, and `requests` saved requests over a 10-minute timeline, 2 % failed), so the
 * figure measures the report, not a server. Goal: under 5 s to open and draw 1,000,000 requests.
 *
 *   node bench/reportBench.ts --requests 1000000      # prints one JSON line
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { summariseRound } from '../src/metrics/index.ts'
import { createRandom } from '../src/random.ts'
import { writeHtmlReport } from '../src/report/html/index.ts'
import type { TimedRequest } from '../src/report/html/index.ts'
import type { RequestRecord, RunResult } from '../src/types.ts'

/** What one measurement gives. */
export interface ReportBenchResult {
  requests: number
  buildAndWriteS: number
  htmlMb: number
  /** Navigation start to every chart drawn, in Chromium; null when no Chromium is installed. */
  openAndDrawS: number | null
  browser: string | null
}

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

function syntheticRun(): RunResult {
  const next = createRandom(1).next
  const records = (round: number): RequestRecord[] => Array.from({ length: 2_000 }, (_, i) => {
    const ttft = (round === 1 ? 80 : 20) + next() * 40
    const tokens = 64
    const latency = ttft + tokens * (4 + next())
    return {
      id: `r${round}-${i}`, index: i, sessionId: `s${i}`, turnIndex: 0, round, concurrency: 64, startedAt: 1_000_000 + i * 5, ttftMs: ttft, latencyMs: latency,
      chunkOffsetsMs: Array.from({ length: tokens }, (_, k) => ttft + ((latency - ttft) * k) / (tokens - 1)), tpotMs: (latency - ttft) / (tokens - 1),
      inputTokens: 500, inputTokenSource: 'usage', outputTokens: tokens, outputTokenSource: 'usage', cachedTokens: round === 1 ? 0 : 480, status: 200, finishReason: 'length', ok: true,
      outputText: '', promptPreview: '',
    }
  })
  const rounds = [1, 2].map((round) => summariseRound({ label: `Concurrency64-Round${round}`, concurrency: 64, round }, records(round)))
  return {
    schemaVersion: 2, tool: { name: 'fluxperf', version: 'bench' }, workload: 'dual-round', endpoint: 'http://bench', model: 'bench', startedAt: new Date(0).toISOString(),
    finishedAt: new Date(600_000).toISOString(), seed: 1, config: { concurrency: [64] }, interrupted: false, rounds, speedups: [],
    client: { eventLoopDelayP99Ms: 1, eventLoopDelayMaxMs: 2, boundMs: 20, resolutionMs: 1, saturated: false, precision: { mode: 'off', active: false, changes: [], refused: [] }, warmupRequests: 0 },
    slo: { ttft: ['p(90) < 200'], errorRate: ['rate < 0.05'] },
  }
}

function* syntheticRequests(n: number): Generator<TimedRequest> {
  const next = createRandom(2).next
  const spanMs = 600_000
  for (let i = 0; i < n; i++) {
    const startedAt = 1_000_000 + (i / n) * spanMs
    const ok = next() >= 0.02
    const ttft = 20 + next() * 100
    yield ok
      ? { startedAt, latencyMs: ttft + 300 + next() * 100, ttftMs: ttft, ok }
      : { startedAt, latencyMs: 50, ttftMs: null, ok, error: { kind: next() < 0.5 ? 'timeout' : 'http_error', message: 'synthetic' } }
  }
}

/** Builds and writes the report of a synthetic run with `requests` saved requests, then opens it in Chromium. */
export async function measureReport(requests: number): Promise<ReportBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'fluxperf-report-bench-'))
  try {
    const file = join(dir, 'report.html')
    const started = performance.now()
    await writeHtmlReport([{ name: 'synthetic', run: syntheticRun(), requests: syntheticRequests(requests) }], file)
    const buildAndWriteS = (performance.now() - started) / 1000
    const htmlMb = statSync(file).size / 1e6
    if (!CHROMIUM) return { requests, buildAndWriteS, htmlMb, openAndDrawS: null, browser: null }
    const { chromium } = await import('playwright-core')
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      const opened = performance.now()
      await page.goto(pathToFileURL(file).href)
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 })
      const openAndDrawS = (performance.now() - opened) / 1000
      return { requests, buildAndWriteS, htmlMb, openAndDrawS, browser: `chromium ${browser.version()}` }
    } finally {
      await browser.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '1000000' } } })
  process.stdout.write(`${JSON.stringify(await measureReport(Number(values.requests)))}\n`)
}
