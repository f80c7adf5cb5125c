// The HTML report as a person sees it: written by `fluxperf report` from real runs against the mock, opened
// from disk in a real headless Chromium (Debian's `chromium`, driven by playwright-core). Every chart must
// draw, nothing may reach the network, the console stays clean, and the verdict lists every SLO term.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { main } from '../../src/cli/main.ts'

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))
if (!CHROMIUM) console.warn('SKIPPED: the HTML report browser tests need Debian\'s chromium (.ci/run installs it)')

/** Where the test leaves its screenshots (results/ is ignored by git). */
const OUT = join(process.cwd(), 'results', 'report-browser')
/** `FLUXPERF_UPDATE_SCREENSHOT=1` also refreshes the README's screenshot. */
const README_SCREENSHOT = join(process.cwd(), 'docs', 'images', 'report.png')

describe.skipIf(!CHROMIUM)('the HTML report in Chromium', () => {
  let browser: Browser
  const tmp = mkdtempSync(join(tmpdir(), 'fluxperf-report-'))
  const slo = join(tmp, 'slo.yaml')

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true })
    writeFileSync(slo, 'ttft:\n  - "p(90) < 5000"\ntpot:\n  - "avg < 500"\nerror_rate:\n  - "rate < 0.5"\n')
    const quiet = { write: process.stdout.write }
    process.stdout.write = (() => true) as typeof process.stdout.write
    try {
      for (const name of ['base', 'new']) {
        const code = await main(['run', '--mock-server', '--dataset', 'fluxperf:example', '--concurrency', '2', '4', '--num-samples', '6', '--max-output-tokens', '16',
          '--seed', '5', '--save-requests', '--slo-file', slo, '--no-progress', '--output-dir', join(tmp, name)])
        expect(code).toBe(0)
      }
      expect(await main(['multi-round-qa', '--mock-server', '--qps', '6', '--time', '2', '--num-users', '3', '--num-rounds', '3', '--answer-len', '8', '--seed', '5',
        '--save-requests', '--no-progress', '--output-dir', join(tmp, 'qa'), '--output', join(tmp, 'qa', 'summary.csv')])).toBe(0)
    } finally {
      process.stdout.write = quiet.write
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  })

  afterAll(async () => {
    await browser?.close()
    rmSync(tmp, { recursive: true, force: true })
  })

  /** Opens a report, waits for every chart, and returns what a reader (and the page) saw. */
  async function open(file: string, screenshot: string): Promise<{ text: string; charts: { id: string; drawn: boolean; painted: boolean }[]; errors: string[]; requests: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const errors: string[] = []
    const requests: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text())
    })
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url())
    })
    await page.goto(pathToFileURL(file).href)
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 })
    const charts = await page.$$eval('[data-chart]', (nodes) => nodes.map((node) => {
      // Painted: some pixel of a canvas is not transparent, or an SVG has drawn shapes.
      const painted = [...node.querySelectorAll('canvas')].some((canvas) => {
        const context = canvas.getContext('2d')
        if (!context || canvas.width === 0 || canvas.height === 0) return false
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true
        return false
      }) || node.querySelectorAll('svg path, svg rect, svg circle').length > 0
      return { id: node.getAttribute('data-chart') ?? '', drawn: node.getAttribute('data-drawn') === 'true', painted }
    }))
    const text = await page.innerText('body')
    await page.screenshot({ path: screenshot, fullPage: true })
    await page.close()
    return { text, charts, errors, requests }
  }

  test('two dual-round runs overlaid and compared: every chart draws, offline, and the verdict lists each SLO term', async () => {
    const file = join(tmp, 'compare.html')
    expect(await main(['report', join(tmp, 'base'), join(tmp, 'new'), '--compare', '-o', file])).toBe(0)
    const seen = await open(file, join(OUT, 'dual-round-compare.png'))
    expect(seen.errors).toEqual([])
    expect(seen.requests).toEqual([])
    const ids = seen.charts.map((c) => c.id)
    for (const id of ['cdf-ttft', 'cdf-itl', 'cdf-tpot', 'cdf-latency']) expect(ids).toContain(id)
    expect(ids.some((id) => id.startsWith('timeline'))).toBe(true)
    for (const chart of seen.charts) expect(chart, chart.id).toMatchObject({ drawn: true, painted: true })
    // Each term on each round: 3 terms × 4 rounds, per run.
    for (const label of ['Concurrency2-Round1', 'Concurrency2-Round2', 'Concurrency4-Round1', 'Concurrency4-Round2']) expect(seen.text).toContain(label)
    for (const term of ['p(90)', 'avg', 'rate', '< 5000', '< 500', '< 0.5']) expect(seen.text).toContain(term)
    expect(seen.text).toMatch(/PASSED/)
    expect(seen.text).toMatch(/within noise|improved|regressed/)
    if (process.env['FLUXPERF_UPDATE_SCREENSHOT']) {
      mkdirSync(join(process.cwd(), 'docs', 'images'), { recursive: true })
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
      await page.goto(pathToFileURL(file).href)
      await page.waitForSelector('body[data-ready="true"]')
      // The comparison and the first distributions: what a reader looks at after the verdict.
      const box = (await page.locator('[data-chart="cdf-ttft"]').boundingBox())!
      await page.screenshot({ path: README_SCREENSHOT, fullPage: true, clip: { x: 0, y: Math.max(0, box.y - 140), width: 1280, height: 1000 } })
      await page.close()
    }
  })

  test('a multi-round QA run: TTFT by question, schedule lag, every chart drawn', async () => {
    const file = join(tmp, 'qa', 'report.html')
    expect(await main(['report', join(tmp, 'qa')])).toBe(0)
    const seen = await open(file, join(OUT, 'multi-round-qa.png'))
    expect(seen.errors).toEqual([])
    expect(seen.requests).toEqual([])
    const ids = seen.charts.map((c) => c.id)
    expect(ids).toContain('by-turn')
    expect(ids.some((id) => id.includes('lag'))).toBe(true)
    for (const chart of seen.charts) expect(chart, chart.id).toMatchObject({ drawn: true, painted: true })
    expect(seen.text).toMatch(/no SLO/i)
  })

  test('a capacity sweep: the finding, throughput and percentiles against load, every step', async () => {
    const dir = join(tmp, 'sweep')
    writeFileSync(join(tmp, 'sweep-slo.yaml'), 'ttft: ["avg < 5000"]\n')
    const quiet = process.stdout.write
    process.stdout.write = (() => true) as typeof process.stdout.write
    try {
      expect(await main(['sweep', '--mock-server', '--slo-file', join(tmp, 'sweep-slo.yaml'), '--start', '4', '--max', '16', '--min-requests', '5', '--min-step-duration', '0',
        '--input-tokens', '16', '--max-output-tokens', '4', '--seed', '5', '--no-progress', '--output-dir', dir])).toBe(0)
    } finally {
      process.stdout.write = quiet
    }
    const seen = await open(join(dir, 'report.html'), join(OUT, 'capacity.png'))
    expect(seen.errors).toEqual([])
    expect(seen.requests).toEqual([])
    const ids = seen.charts.map((c) => c.id)
    for (const id of ['capacity-throughput', 'capacity-tokens', 'capacity-ttft', 'capacity-latency']) expect(ids).toContain(id)
    for (const chart of seen.charts) expect(chart, chart.id).toMatchObject({ drawn: true, painted: true })
    expect(seen.text).toMatch(/Capacity over rate/)
    expect(seen.text).toMatch(/16(\.0)? requests\/s/)
    expect(seen.text).toMatch(/capacity is at least 16\.00 requests\/s/)
    for (const step of ['1 up', '2 up', '3 up']) expect(seen.text).toContain(step)
    // Each step carries the sweep's SLO, so its own verdict is shown too.
    expect(seen.text).toMatch(/PASSED/)
    expect(seen.text).not.toMatch(/Throughput and latency by concurrency/)
  })
})
