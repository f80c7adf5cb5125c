/**
 * The report's sections, in reading order. Each returns null when it has nothing to show, so no section is
 * drawn empty. Every number printed comes exact from the data; only the drawn series may be down-sampled.
 */
import type { ReportCapacity, ReportComparison, ReportData, ReportMetric, ReportRound, ReportRun } from '../src/report/html/data.ts'
import { chartBox, color, dashOf } from './charts.ts'
import type { ChartSpec, SeriesSpec } from './charts.ts'
import { h, swatch, table } from './dom.ts'
import type { Cell } from './dom.ts'
import {
  DASH, fmtChange, fmtCount, fmtDuration, fmtMs, fmtNum, fmtShare, fmtTime, num, plural, secondsBetween, shortLabel,
} from './format.ts'

type Child = Node | string | null | undefined | false

function section(id: string, title: string, ...children: (Child | Child[])[]): HTMLElement {
  return h('section', { id, class: 'section' }, h('h2', null, title), ...children)
}

/** A chart (or two) with its title, one-line caption, and the exact numbers beside it. */
function figure(title: string, caption: string, chart: Node, side?: Node | null): HTMLElement {
  return h(
    'figure',
    { class: 'figure' },
    h('h3', null, title),
    h('p', { class: 'caption' }, caption),
    h('div', { class: side ? 'figure-body with-side' : 'figure-body' }, chart, side ? h('div', { class: 'side' }, side) : null),
  )
}

const pct = (v: number) => `${Math.round(v * 100)}%`

const METRIC_NAMES: Record<ReportMetric, string> = {
  ttft: 'Time to first token (TTFT)',
  ttfat: 'Time to first answer token (TTFAT), after the reasoning',
  reasoningTime: 'Reasoning time (first reasoning token to first answer token)',
  itl: 'Inter-token latency (ITL)',
  tpot: 'Time per output token (TPOT)',
  latency: 'Request latency',
}

/** Axis and caption names. */
const SHORT_NAMES: Record<ReportMetric, string> = { ttft: 'TTFT', ttfat: 'TTFAT', reasoningTime: 'reasoning time', itl: 'ITL', tpot: 'TPOT', latency: 'latency' }

/** A run's colour in the charts that draw one line per run. */
const runColor = (runIdx: number) => color(runIdx)

/** A run's name with its colour swatch, for table cells. */
function runCell(run: ReportRun, runIdx: number): Cell {
  return h('span', { class: 'series-name' }, swatch(runColor(runIdx)), run.name)
}

// ---------------------------------------------------------------------------------------------------------
// Header

export function headerSection(data: ReportData): HTMLElement {
  const cards = data.runs.map((run, i) => {
    const seconds = secondsBetween(run.startedAt, run.finishedAt)
    const facts: [string, string][] = [
      ['workload', run.workload],
      ['model', run.model],
      ['endpoint', run.endpoint],
      ['started', fmtTime(run.startedAt)],
      ['duration', fmtDuration(seconds)],
      ['seed', String(run.seed)],
      ...Object.entries(run.settings ?? {}),
    ]
    const warnings: string[] = []
    if (run.clientSaturated) warnings.push('The load-generating client was saturated: its timings are not trustworthy. Re-run with less load per client or on a larger machine.')
    if (run.interrupted) warnings.push('The run was interrupted: its results are partial.')
    return h(
      'article',
      { class: 'run-card' },
      h('h2', { class: 'run-name' }, swatch(runColor(i)), run.name),
      warnings.map((w) => h('div', { class: 'banner warn', role: 'alert' }, h('strong', null, 'Warning: '), w)),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))),
    )
  })
  return h(
    'header',
    { class: 'page-header' },
    h('div', { class: 'title-row' }, h('h1', null, 'fluxperf report'), h('p', { class: 'meta' }, `${plural(data.runs.length, 'run')} · generated ${fmtTime(data.generatedAt)} by ${data.tool}`)),
    h('div', { class: data.runs.length > 1 ? 'run-cards multi' : 'run-cards' }, cards),
  )
}

// ---------------------------------------------------------------------------------------------------------
// Capacity

/**
 * A capacity sweep: the finding first, then throughput, goodput and TTFT / latency percentiles against the load
 * of every step (the probe, one request at a time, is in the table only), then every step exact.
 */
export function capacitySection(c: ReportCapacity | undefined): HTMLElement | null {
  if (!c) return null
  const steps = c.steps.filter((s) => s.phase !== 'probe').sort((a, b) => a.load - b.load)
  if (steps.length === 0) {
    return section('capacity', `Capacity over ${c.over}`, h('div', { class: 'verdict failed', 'data-capacity': 'none' }, h('div', { class: 'verdict-head' }, h('span', { class: 'badge' }, 'NO CAPACITY'), h('span', null, c.summary))))
  }
  const loadLabel = c.over === 'rate' ? 'load (requests/s)' : 'load (requests in flight)'
  const loads = steps.map((s) => s.load)
  const min = Math.min(...loads)
  const max = Math.max(...loads)
  const log = min > 0 && max / min >= 8
  const x: ChartSpec['x'] = { label: loadLabel, log, logBase: 2, range: log ? [min / 1.3, max * 1.3] : min === max ? [Math.max(0, min - 1), max + 1] : [min - (max - min) * 0.06, max + (max - min) * 0.06], format: (v) => fmtNum(v) }
  const line = (label: string, y: (s: ReportCapacity['steps'][number]) => number | null, colorIdx: number, k = 0, n = 1): SeriesSpec => ({
    label, x: steps.map((s) => s.load), y: steps.map(y), color: n > 1 ? shade(colorIdx, k, n) : color(colorIdx), kind: 'linePoints',
  })
  const figures: HTMLElement[] = [
    figure('Throughput against load', `Completed requests per second (and requests meeting the per-request SLO) at each load tried; a server past its capacity stops following the diagonal.`,
      chartBox({ id: 'capacity-throughput', small: true, x, y: { label: 'requests/s', zero: true }, series: [
        line('completed requests/s', (s) => num(s.requestsPerS), 0),
        ...(steps.some((s) => s.goodputPerS !== null) ? [line('within SLO (goodput) requests/s', (s) => num(s.goodputPerS), 2)] : []),
      ] })),
    figure('Output tokens per second', 'Output tokens per second at each load tried.', chartBox({ id: 'capacity-tokens', small: true, x, y: { label: 'output tokens/s', zero: true }, series: [line('output tokens/s', (s) => num(s.outputTokensPerS), 1)] })),
    figure('TTFT against load', 'TTFT p50, p90 and p99 at each load (darker is lower): the knee is where queueing starts.',
      chartBox({ id: 'capacity-ttft', small: true, x, y: { label: 'TTFT (ms)', zero: true, log: 'auto' }, series: (['p50', 'p90', 'p99'] as const).map((p, k) => line(`TTFT ${p}`, (s) => num(s.ttft?.[p]), 0, k, 3)) })),
    figure('Latency against load', 'Request latency p50, p90 and p99 at each load.',
      chartBox({ id: 'capacity-latency', small: true, x, y: { label: 'latency (ms)', zero: true, log: 'auto' }, series: (['p50', 'p90', 'p99'] as const).map((p, k) => line(`latency ${p}`, (s) => num(s.latency?.[p]), 3, k, 3)) })),
  ]
  const terms = c.steps[0]?.checks.map((x) => `${x.metric} ${x.expression}`) ?? []
  const interval = (x: ReportCapacity['steps'][number]['checks'][number]): string => (x.observed === null ? 'n/a' : `${fmtNum(x.observed)}${x.low !== null || x.high !== null ? ` [${fmtNum(x.low)}, ${x.high === null ? DASH : fmtNum(x.high)}]` : ''}`)
  const rows = c.steps.map((s) => ({
    class: s.pass ? undefined : 'row-fail',
    cells: [
      `${s.step} ${s.phase}`, s.phase === 'probe' ? '1 at a time' : fmtNum(s.load), fmtNum(s.achievedRate), fmtCount(s.requests), fmtNum(s.requestsPerS), fmtNum(s.outputTokensPerS),
      ...s.checks.map((x) => ({ text: interval(x), class: x.pass ? '' : 'fail' })),
      { text: s.verdict, class: s.pass ? 'pass' : 'fail' }, { text: s.ended, title: s.why },
    ] as Cell[],
  }))
  const state = c.capacity === null ? 'failed' : 'passed'
  const headline = h('div', { class: `verdict ${state}`, 'data-capacity': c.capacity === null ? 'none' : String(c.capacity) },
    h('div', { class: 'verdict-head' }, h('span', { class: 'badge' }, c.capacity === null ? 'NO CAPACITY' : `${fmtNum(c.capacity)} ${c.unit}`), h('span', null, c.summary)))
  return section('capacity', `Capacity over ${c.over}`, headline, h('div', { class: 'grid-2' }, figures),
    h('div', { class: 'table-wrap' }, table({
      head: ['step', loadLabel, 'sent/s', 'requests', 'requests/s', 'output tok/s', ...terms.map((t) => `${t} [${Math.round(c.confidence * 100)} % interval]`), 'result', 'ended'],
      numeric: [1, 2, 3, 4, 5],
      caption: 'Every step (exact); hover "ended" for why the step ended',
      rows,
      class: 'data wide',
    })))
}

// ---------------------------------------------------------------------------------------------------------
// Verdict

export function verdictSection(data: ReportData): HTMLElement | null {
  if (data.runs.length === 0) return null
  const blocks = data.runs.map((run, i) => {
    const v = run.verdict
    const state = v.passed === true ? 'passed' : v.passed === false ? 'failed' : 'none'
    const badge = v.passed === true ? 'PASSED' : v.passed === false ? 'FAILED' : 'no SLO'
    const passedChecks = v.checks.filter((c) => c.pass).length
    const summary = v.passed === null
      ? 'No SLO was set for this run: nothing to pass or fail.'
      : `${passedChecks} of ${plural(v.checks.length, 'check')} passed${v.problems.length ? `, ${plural(v.problems.length, 'problem')}` : ''}.`
    return h(
      'div',
      { class: `verdict ${state}`, 'data-verdict': state },
      h('div', { class: 'verdict-head' }, h('span', { class: 'badge' }, badge), h('strong', { class: 'series-name' }, swatch(runColor(i)), run.name), h('span', { class: 'muted' }, summary)),
      v.checks.length
        ? table({
            head: ['round', 'metric', 'statistic', 'observed', 'limit', 'result', 'note'],
            numeric: [3],
            rows: v.checks.map((c) => ({
              class: c.pass ? undefined : 'row-fail',
              cells: [c.round, c.metric, c.statistic, fmtNum(c.observed), { text: c.limit, class: 'nowrap' }, { text: c.pass ? 'pass' : 'FAIL', class: c.pass ? 'pass' : 'fail' }, c.note ?? ''],
            })),
          })
        : null,
      v.problems.length ? h('ul', { class: 'problems' }, v.problems.map((p) => h('li', null, p))) : null,
    )
  })
  return section('verdict', data.runs.length > 1 ? 'Verdicts' : 'Verdict', blocks)
}

// ---------------------------------------------------------------------------------------------------------
// Comparison

export function comparisonSection(c: ReportComparison | undefined): HTMLElement | null {
  if (!c) return null
  const counts = new Map<string, number>()
  for (const row of c.rows) counts.set(row.verdict, (counts.get(row.verdict) ?? 0) + 1)
  const regressed = counts.get('regressed') ?? 0
  const state = regressed > 0 ? 'failed' : 'passed'
  const head = h(
    'div',
    { class: `verdict ${state}` },
    h(
      'div',
      { class: 'verdict-head' },
      h('span', { class: 'badge' }, regressed > 0 ? 'REGRESSED' : 'NO REGRESSION'),
      h('strong', null, `${c.new} vs ${c.base}`),
      h('span', { class: 'muted' }, ['regressed', 'improved', 'within noise', 'missing'].filter((k) => counts.has(k)).map((k) => `${counts.get(k)} ${k}`).join(', ') || 'nothing compared'),
    ),
  )
  const differences = c.configDifferences.length
    ? h(
        'div',
        { class: 'banner warn config-diff', role: 'alert' },
        h('strong', null, 'The runs were measured with different settings; a change may come from these rather than the server:'),
        h('ul', null, c.configDifferences.map((d) => h('li', null, h('code', null, d)))),
      )
    : null
  const rows = c.rows.map((r) => ({
    class: r.verdict === 'regressed' ? 'row-fail' : r.verdict === 'improved' ? 'row-pass' : undefined,
    cells: [
      r.round, r.metric, r.stat, fmtMs(r.base), fmtMs(r.new), fmtChange(r.change),
      // low/high bound the ratio new/base (1.12 = 12 % slower); shown as changes, like `change`.
      num(r.low) === null && num(r.high) === null ? DASH : `${fmtChange(r.low === null ? null : r.low - 1)} … ${fmtChange(r.high === null ? null : r.high - 1)}`,
      { text: r.verdict, class: r.verdict === 'regressed' ? 'fail' : r.verdict === 'improved' ? 'pass' : r.verdict === 'missing' ? 'muted' : '' },
    ] as Cell[],
  }))
  return section(
    'comparison',
    'Comparison',
    h('p', { class: 'caption' }, `Each statistic of "${c.new}" against base "${c.base}": change, its bootstrap interval, and the verdict; a regression is an interval wholly above +${fmtShare(c.tolerance, 0)} (the tolerance).`),
    head,
    differences,
    c.rows.length
      ? table({ head: ['round', 'metric', 'stat', 'base', 'new', 'change', 'interval', 'verdict'], numeric: [3, 4, 5, 6], rows, class: 'data comparison' })
      : h('p', { class: 'muted' }, 'No statistic could be compared.'),
  )
}

// ---------------------------------------------------------------------------------------------------------
// Distributions (CDFs)

interface RoundSeries {
  run: ReportRun
  runIdx: number
  round: ReportRound
  label: string
  color: string
  dash: number[] | undefined
}

/**
 * One entry per round of every run: a colour per run and concurrency level (per round label for workloads
 * without levels), round 1 solid and round 2 dashed, so a level's cold and warm rounds pair up.
 */
function roundSeries(data: ReportData): RoundSeries[] {
  const keys = new Map<string, number>()
  const out: RoundSeries[] = []
  data.runs.forEach((run, runIdx) => {
    for (const round of run.rounds) {
      const levels = run.workload === 'dual-round'
      const key = `${runIdx}\u0000${levels ? `c${round.concurrency}` : round.label}`
      if (!keys.has(key)) keys.set(key, keys.size)
      out.push({
        run, runIdx, round,
        label: `${run.name} · ${round.label}`,
        color: color(keys.get(key) as number),
        dash: levels ? dashOf(round.round) : undefined,
      })
    }
  })
  return out
}

function seriesNameCell(s: { label: string; color: string; dash?: number[] | undefined }): Cell {
  return h('span', { class: 'series-name nowrap' }, swatch(s.color, !!s.dash), s.label)
}

export function distributionSection(data: ReportData): HTMLElement | null {
  const all = roundSeries(data)
  const figures: HTMLElement[] = []
  for (const metric of ['ttft', 'ttfat', 'reasoningTime', 'itl', 'tpot', 'latency'] as const) {
    const drawn = all.filter((s) => (s.round.cdf?.[metric]?.ms?.length ?? 0) > 0)
    const withStats = all.filter((s) => s.round.stats?.[metric])
    if (drawn.length === 0 && withStats.length === 0) continue
    const spec: ChartSpec = {
      id: `cdf-${metric}`,
      x: { label: `${SHORT_NAMES[metric]} (ms)`, log: 'auto' },
      y: { label: 'cumulative share', range: [0, 1], format: pct },
      series: drawn.map((s) => {
        const cdf = s.round.cdf[metric] as { ms: number[]; share: number[] }
        return { label: s.label, group: s.run.name, name: s.round.label, x: cdf.ms, y: cdf.share, color: s.color, dash: s.dash }
      }),
    }
    const side = table({
      head: ['round', 'n', 'p50', 'p90', 'p99', 'max'],
      numeric: [1, 2, 3, 4, 5],
      caption: `${SHORT_NAMES[metric]}, ms (exact)`,
      rows: byRun(data, withStats, (s) => {
        const st = s.round.stats[metric] as NonNullable<ReportRound['stats'][ReportMetric]>
        return { cells: [seriesNameCell({ ...s, label: s.round.label }), fmtCount(st.count), fmtMs(st.p50), fmtMs(st.p90), fmtMs(st.p99), fmtMs(st.max)] }
      }),
    })
    const caption = `Share of requests (y) with ${metric === 'latency' ? 'a latency' : metric === 'reasoningTime' ? 'a reasoning time' : `a ${SHORT_NAMES[metric]}`} at or below x ms, per round; a curve further left is faster, and the top right shows the tail${hasRounds(data) ? '; round 1 (cold) solid, round 2 (warm) dashed' : ''}.`
    figures.push(figure(METRIC_NAMES[metric], caption, drawn.length ? chartBox(spec) : h('p', { class: 'muted' }, 'No distribution was recorded.'), side))
  }
  if (figures.length === 0) return null
  return section('distributions', 'Latency distributions', figures)
}

/** Table rows of `items` under a heading row per run when there are several runs. */
function byRun<T extends { runIdx: number }>(data: ReportData, items: T[], row: (item: T) => { cells: Cell[]; class?: string }): TableRows {
  if (data.runs.length <= 1) return items.map(row)
  const rows: TableRows = []
  let last = -1
  for (const item of items) {
    if (item.runIdx !== last) {
      last = item.runIdx
      const run = data.runs[item.runIdx] as ReportRun
      rows.push({ heading: h('span', { class: 'series-name' }, swatch(runColor(item.runIdx)), run.name) })
    }
    rows.push(row(item))
  }
  return rows
}

type TableRows = Parameters<typeof table>[0]['rows']

function hasRounds(data: ReportData): boolean {
  return data.runs.some((r) => r.workload === 'dual-round' && r.rounds.some((x) => x.round >= 2))
}

// ---------------------------------------------------------------------------------------------------------
// TTFT by turn (multi-turn and QA)

export function byTurnSection(data: ReportData): HTMLElement | null {
  const runs = data.runs
    .map((run, runIdx) => ({ run, runIdx, turns: (run.byTurn ?? []).filter((t) => num(t.turn) !== null).slice().sort((a, b) => a.turn - b.turn) }))
    .filter((r) => r.turns.some((t) => num(t.ttftP50) !== null || num(t.ttftP90) !== null))
  if (runs.length === 0) return null
  const series: SeriesSpec[] = []
  for (const { run, runIdx, turns } of runs) {
    const x = turns.map((t) => t.turn)
    series.push({ label: `${run.name} · p50`, group: run.name, name: 'TTFT p50', x, y: turns.map((t) => num(t.ttftP50)), color: runColor(runIdx), kind: 'linePoints' })
    series.push({ label: `${run.name} · p90`, group: run.name, name: 'TTFT p90', x, y: turns.map((t) => num(t.ttftP90)), color: runColor(runIdx), dash: [7, 4], kind: 'linePoints' })
  }
  const noun = runs.every((r) => r.run.workload === 'multi-round-qa') ? 'question' : 'turn'
  const maxTurn = Math.max(...runs.flatMap((r) => r.turns.map((t) => t.turn)))
  const minTurn = Math.min(...runs.flatMap((r) => r.turns.map((t) => t.turn)))
  const spec: ChartSpec = {
    id: 'by-turn',
    x: {
      label: noun,
      range: minTurn === maxTurn ? [minTurn - 1, maxTurn + 1] : [minTurn - 0.3, maxTurn + 0.3],
      ...(maxTurn - minTurn <= 20 ? { splits: Array.from({ length: maxTurn - minTurn + 1 }, (_, i) => minTurn + i) } : {}),
      format: (v) => String(Math.round(v)),
    },
    y: { label: 'TTFT (ms)', zero: true },
    series,
  }
  const multi = runs.length > 1
  const side = table({
    head: [noun, 'requests', 'TTFT p50', 'TTFT p90', 'latency p50'],
    numeric: [0, 1, 2, 3, 4],
    caption: 'ms (exact)',
    rows: byRun(
      data,
      runs.flatMap(({ runIdx, turns }) => turns.map((t) => ({ runIdx, t }))),
      ({ t }) => ({ class: t.turn === 1 ? 'row-first' : undefined, cells: [String(t.turn), fmtCount(t.requests), fmtMs(t.ttftP50), fmtMs(t.ttftP90), fmtMs(t.latencyP50)] }),
    ),
  })
  const notes = runs.map(({ run, turns }) => {
    const first = num(turns.find((t) => t.turn === 1)?.ttftP50)
    const later = turns.filter((t) => t.turn > 1).map((t) => num(t.ttftP50)).filter((v): v is number => v !== null).sort((a, b) => a - b)
    if (first === null || later.length === 0) return null
    const median = later[Math.floor(later.length / 2)] as number
    const ratio = median > 0 ? first / median : null
    return `${multi ? `${run.name}: ` : ''}${noun} 1 TTFT p50 ${fmtMs(first)} ms; later ${noun}s ${fmtMs(median)} ms (median of their p50s)${ratio !== null ? `: ${noun} 1 takes ${fmtNum(ratio)}× as long` : ''}.`
  }).filter((n): n is string => n !== null)
  return section(
    'by-turn',
    `TTFT by ${noun}`,
    figure(
      noun === 'turn' ? 'Time to first token by conversation turn' : 'Time to first token by question',
      `TTFT p50 (solid) and p90 (dashed) against the ${noun} number: the first ${noun} sends the whole prompt, later ${noun}s can reuse the cached prefix.`,
      chartBox(spec),
      side,
    ),
    notes.length ? h('ul', { class: 'notes' }, notes.map((n) => h('li', null, n))) : null,
  )
}

// ---------------------------------------------------------------------------------------------------------
// Throughput, goodput and latency against concurrency

interface RoundGroup {
  run: ReportRun
  runIdx: number
  label: string
  /** The series' name under its run in a legend: `round 1`, or the round's label. */
  name: string
  round: number
  rounds: ReportRound[]
}

/** A run's rounds grouped by round number (round 1 across levels, round 2 across levels). */
function roundGroups(data: ReportData): RoundGroup[] {
  const groups: RoundGroup[] = []
  data.runs.forEach((run, runIdx) => {
    const byRound = new Map<number, ReportRound[]>()
    for (const r of run.rounds) {
      if (num(r.concurrency) === null) continue
      const list = byRound.get(r.round) ?? []
      list.push(r)
      byRound.set(r.round, list)
    }
    for (const [round, rounds] of [...byRound].sort((a, b) => a[0] - b[0])) {
      rounds.sort((a, b) => a.concurrency - b.concurrency)
      const name = run.workload !== 'dual-round' && rounds.length === 1 ? (rounds[0] as ReportRound).label : `round ${round}`
      groups.push({ run, runIdx, label: `${run.name} · ${name}`, name, round, rounds })
    }
  })
  return groups
}

function concurrencyAxis(data: ReportData): ChartSpec['x'] {
  const levels = [...new Set(data.runs.flatMap((r) => r.rounds.map((x) => num(x.concurrency)).filter((v): v is number => v !== null)))].sort((a, b) => a - b)
  const min = levels[0] ?? 1
  const max = levels.at(-1) ?? 1
  const log = min > 0 && max / min >= 8
  const range: [number, number] = log ? [min / 1.4, max * 1.4] : min === max ? [Math.max(0, min - 1), max + 1] : [min - (max - min) * 0.06, max + (max - min) * 0.06]
  return { label: 'concurrency', log, logBase: 2, range, ...(levels.length <= 16 ? { splits: levels } : {}), format: (v) => fmtCount(v) }
}

export function concurrencySection(data: ReportData): HTMLElement | null {
  const groups = roundGroups(data)
  if (groups.length === 0) return null
  const x = concurrencyAxis(data)
  const single = groups.every((g) => g.rounds.length === 1) && new Set(data.runs.flatMap((r) => r.rounds.map((x) => x.concurrency))).size === 1
  const per = (id: string, yLabel: string, value: (r: ReportRound) => number | null, extra?: Partial<ChartSpec['y']>): ChartSpec => ({
    id,
    small: true,
    x,
    y: { label: yLabel, zero: true, ...extra },
    series: groups.map((g) => ({
      label: g.label,
      group: g.run.name,
      name: g.name,
      x: g.rounds.map((r) => r.concurrency),
      y: g.rounds.map(value),
      color: runColor(g.runIdx),
      dash: dashOf(g.round),
      kind: 'linePoints' as const,
    })),
  })
  const roundNote = groups.some((g) => g.round >= 2) ? ' Round 1 solid, round 2 dashed.' : ''
  const where = single ? 'at the run\'s single concurrency level' : 'against the concurrency level'
  const figures: HTMLElement[] = [
    figure('Output tokens per second', `Output tokens per second ${where}, per run and round.${roundNote}`, chartBox(per('throughput-tokens', 'output tokens/s', (r) => num(r.outputTokensPerS)))),
    figure('Requests per second', `Completed requests per second ${where}, per run and round.${roundNote}`, chartBox(per('throughput-requests', 'requests/s', (r) => num(r.requestsPerS)))),
  ]
  if (data.runs.some((run) => run.rounds.some((r) => num(r.goodput) !== null))) {
    figures.push(figure('Goodput', `Share of requests meeting the per-request SLO ${where}.${roundNote}`, chartBox(per('goodput', 'requests within SLO', (r) => num(r.goodput), { range: [0, 1], format: pct }))))
  }
  const pctSeries = (id: string, metric: ReportMetric, stats: ('p50' | 'p90' | 'p99')[]): ChartSpec => {
    const series: SeriesSpec[] = []
    for (const g of groups) {
      stats.forEach((stat, k) => {
        series.push({
          label: `${g.label} · ${stat}`,
          group: g.run.name,
          name: `${g.name} · ${stat}`,
          x: g.rounds.map((r) => r.concurrency),
          y: g.rounds.map((r) => num(r.stats?.[metric]?.[stat])),
          color: shade(g.runIdx, k, stats.length),
          dash: dashOf(g.round),
          kind: 'linePoints',
        })
      })
    }
    return { id, small: true, x, y: { label: `${metric === 'ttft' ? 'TTFT' : 'latency'} (ms)`, zero: true, log: 'auto' }, series }
  }
  if (groups.some((g) => g.rounds.some((r) => r.stats?.ttft))) {
    figures.push(figure('TTFT percentiles', `TTFT p50, p90 and p99 ${where} (darker is lower percentile).${roundNote}`, chartBox(pctSeries('concurrency-ttft', 'ttft', ['p50', 'p90', 'p99']))))
  }
  if (groups.some((g) => g.rounds.some((r) => r.stats?.latency))) {
    figures.push(figure('Latency percentiles', `Request latency p50 and p90 ${where}.${roundNote}`, chartBox(pctSeries('concurrency-latency', 'latency', ['p50', 'p90']))))
  }
  const multi = data.runs.length > 1
  const rows = data.runs.flatMap((run, runIdx) =>
    run.rounds.map((r) => ({
      class: r.failed > 0 ? 'row-warn' : undefined,
      cells: [
        ...(multi ? [runCell(run, runIdx)] : []),
        r.label, fmtCount(r.concurrency), fmtCount(r.total), { text: fmtCount(r.failed), class: r.failed > 0 ? 'fail' : '' }, fmtNum(r.durationS),
        fmtNum(r.requestsPerS), fmtNum(r.outputTokensPerS), r.goodput === null ? DASH : fmtShare(r.goodput),
        (r.errors ?? []).filter((e) => e.count > 0).map((e) => `${e.kind} ×${fmtCount(e.count)}`).join(', ') || '',
      ] as Cell[],
    })),
  )
  const o = multi ? 1 : 0
  const roundsTable = table({
    head: [...(multi ? ['run'] : []), 'round', 'concurrency', 'requests', 'failed', 'duration (s)', 'requests/s', 'output tok/s', 'goodput', 'errors'],
    numeric: [1, 2, 3, 4, 5, 6, 7].map((i) => i + o),
    caption: 'Every round (exact)',
    rows,
    class: 'data wide',
  })
  return section('concurrency', 'Throughput and latency by concurrency', h('div', { class: 'grid-2' }, figures), h('div', { class: 'table-wrap' }, roundsTable))
}

/** Shades of a run's hue: k of n, darker first. */
function shade(runIdx: number, k: number, n: number): string {
  const hues = [212, 28, 128, 275, 355, 185, 48, 320]
  const hue = hues[runIdx % hues.length] as number
  const light = n <= 1 ? 42 : 30 + (k * 32) / (n - 1)
  return `hsl(${hue} 70% ${light.toFixed(0)}%)`
}

// ---------------------------------------------------------------------------------------------------------
// Timeline

export function timelineSection(data: ReportData): HTMLElement | null {
  const runs = data.runs.map((run, runIdx) => ({ run, runIdx, tl: run.timeline })).filter((r) => r.tl && r.tl.requests > 0) as {
    run: ReportRun
    runIdx: number
    tl: NonNullable<ReportRun['timeline']>
  }[]
  if (runs.length === 0) return null
  const multi = data.runs.length > 1
  const name = (run: ReportRun) => (multi ? `${run.name}: ` : '')
  const time = { label: 'seconds since the first request', zero: true }
  const figures: HTMLElement[] = []

  const inFlight = runs.filter((r) => (r.tl.inFlight?.t?.length ?? 0) > 0)
  if (inFlight.length) {
    const sampled = inFlight.map(({ run, tl }) =>
      tl.inFlight.t.length < tl.requests * 2 && tl.downsampled ? `${name(run)}peak per time bucket (${fmtCount(tl.inFlight.t.length)} points for ${plural(tl.requests, 'request')})` : `${name(run)}every start and end`,
    )
    const side = table({
      head: [...(multi ? ['run'] : []), 'requests', 'peak in flight', 'failed'],
      numeric: multi ? [1, 2, 3] : [0, 1, 2],
      caption: 'exact',
      rows: inFlight.map(({ run, runIdx, tl }) => {
        const failed = Object.values(tl.errors?.byKind ?? {}).reduce((n, counts) => n + counts.reduce((a, b) => a + (num(b) ?? 0), 0), 0)
        return { cells: [...(multi ? [runCell(run, runIdx)] : []), fmtCount(tl.requests), fmtCount(maxOf(tl.inFlight.n)), fmtCount(failed)] }
      }),
    })
    figures.push(
      figure(
        'Requests in flight',
        `Requests in flight over time (drawn: ${sampled.join('; ')}).`,
        chartBox({
          id: 'timeline-inflight',
          x: time,
          y: { label: 'requests in flight', zero: true, integer: true, format: (v) => fmtCount(v) },
          series: inFlight.map(({ run, runIdx, tl }) => ({ label: run.name, x: tl.inFlight.t, y: tl.inFlight.n, color: runColor(runIdx), kind: 'step' as const })),
        }),
        side,
      ),
    )
  }

  const ttft = runs.filter((r) => (r.tl.ttft?.t?.length ?? 0) > 0)
  if (ttft.length) {
    const sampled = ttft.map(({ run, tl }) =>
      tl.downsampled ? `${name(run)}drawn from ${fmtCount(tl.ttft.t.length)} of ${fmtCount(tl.requests)} requests (each time bucket's lowest and highest)` : `${name(run)}every request with a first token (${fmtCount(tl.ttft.t.length)} of ${fmtCount(tl.requests)})`,
    )
    const side = table({
      head: [...(multi ? ['run'] : []), 'points', 'min', 'max'],
      numeric: multi ? [1, 2, 3] : [0, 1, 2],
      caption: 'TTFT, ms (extremes are kept when down-sampled)',
      rows: ttft.map(({ run, runIdx, tl }) => ({ cells: [...(multi ? [runCell(run, runIdx)] : []), fmtCount(tl.ttft.t.length), fmtMs(minOf(tl.ttft.ms)), fmtMs(maxOf(tl.ttft.ms))] })),
    })
    figures.push(
      figure(
        'TTFT over time',
        `TTFT of each request at its start time: ${sampled.join('; ')}.`,
        chartBox({
          id: 'timeline-ttft',
          x: time,
          y: { label: 'TTFT (ms)', log: 'auto', zero: true },
          series: ttft.map(({ run, runIdx, tl }) => ({ label: run.name, x: tl.ttft.t, y: tl.ttft.ms, color: runColor(runIdx), kind: 'points' as const })),
        }),
        side,
      ),
    )
  }

  const lag = runs.filter((r) => (r.tl.lag?.t?.length ?? 0) > 0)
  if (lag.length) {
    const sampled = lag.map(({ run, tl }) => (tl.downsampled ? `${name(run)}drawn from ${fmtCount(tl.lag?.t.length ?? 0)} points of ${fmtCount(tl.requests)} requests` : `${name(run)}every request`))
    const side = table({
      head: [...(multi ? ['run'] : []), 'min', 'max'],
      numeric: multi ? [1, 2] : [0, 1],
      caption: 'schedule lag, ms',
      rows: lag.map(({ run, runIdx, tl }) => ({ cells: [...(multi ? [runCell(run, runIdx)] : []), fmtMs(minOf(tl.lag?.ms ?? [])), fmtMs(maxOf(tl.lag?.ms ?? []))] })),
    })
    figures.push(
      figure(
        'Schedule lag',
        `How late each request started against its intended send time (open loop): ${sampled.join('; ')}. A growing lag means the client could not keep the schedule.`,
        chartBox({
          id: 'timeline-lag',
          x: time,
          y: { label: 'lag (ms)', zero: true },
          series: lag.map(({ run, runIdx, tl }) => ({ label: run.name, x: tl.lag?.t ?? [], y: tl.lag?.ms ?? [], color: runColor(runIdx), kind: 'points' as const })),
        }),
        side,
      ),
    )
  }

  const kinds = [...new Set(runs.flatMap((r) => Object.keys(r.tl.errors?.byKind ?? {})))]
  for (const { run, runIdx, tl } of runs) {
    const byKind = Object.entries(tl.errors?.byKind ?? {})
      .map(([kind, counts]) => ({ kind, counts: counts.map((c) => num(c) ?? 0), total: counts.reduce((a, b) => a + (num(b) ?? 0), 0) }))
      .filter((k) => k.total > 0)
      .sort((a, b) => b.total - a.total)
    if (byKind.length === 0 || !tl.errors.t?.length) continue
    // Stacked: the largest kind at the bottom; each series draws the sum up to it, the tallest first.
    const stacked: SeriesSpec[] = []
    let running = tl.errors.t.map(() => 0)
    const layers = byKind.map((k) => {
      running = running.map((v, i) => v + (k.counts[i] ?? 0))
      return { ...k, top: running.slice() }
    })
    for (const layer of layers.slice().reverse()) {
      stacked.push({
        label: layer.kind,
        x: tl.errors.t,
        y: layer.top.map((v, i) => ((layer.counts[i] ?? 0) > 0 ? v : null)),
        legendY: layer.counts,
        color: color(kinds.indexOf(layer.kind) + 3),
        kind: 'bars',
        barSize: 0.9,
      })
    }
    const side = table({
      head: ['kind', 'failed requests'],
      numeric: [1],
      caption: 'exact',
      rows: byKind.map((k) => ({ cells: [h('span', { class: 'series-name' }, swatch(color(kinds.indexOf(k.kind) + 3)), k.kind), fmtCount(k.total)] })),
    })
    figures.push(
      figure(
        `Errors over time${multi ? ` · ${run.name}` : ''}`,
        `Failed requests by kind in each of ${tl.errors.t.length} time buckets (stacked; every failed request counted).`,
        chartBox({ id: `timeline-errors-${runIdx}`, x: time, y: { label: 'failed requests', zero: true, integer: true, format: (v) => fmtCount(v) }, series: stacked, legendReverse: true }),
        side,
      ),
    )
  }
  if (figures.length === 0) return null
  return section('timeline', 'Timeline', figures)
}

function minOf(values: ArrayLike<number | null>): number | null {
  let m: number | null = null
  for (let i = 0; i < values.length; i++) {
    const v = num(values[i])
    if (v !== null && (m === null || v < m)) m = v
  }
  return m
}

function maxOf(values: ArrayLike<number | null>): number | null {
  let m: number | null = null
  for (let i = 0; i < values.length; i++) {
    const v = num(values[i])
    if (v !== null && (m === null || v > m)) m = v
  }
  return m
}

// ---------------------------------------------------------------------------------------------------------
// Cache and server metrics

export function serverSection(data: ReportData): HTMLElement | null {
  const parts: HTMLElement[] = []
  const anyRounds = data.runs.some((r) => r.rounds.length > 0)
  const reported = data.runs.some((r) => r.rounds.some((x) => num(x.cachedShare) !== null))
  if (anyRounds && reported) {
    const categories = [...new Set(data.runs.flatMap((r) => r.rounds.map((x) => x.label)))]
    const runCount = data.runs.length
    const width = 0.8 / runCount
    const series: SeriesSpec[] = data.runs.map((run, runIdx) => {
      const offset = (runIdx - (runCount - 1) / 2) * width
      return {
        label: run.name,
        x: run.rounds.map((r) => categories.indexOf(r.label) + offset),
        y: run.rounds.map((r) => num(r.cachedShare)),
        color: runColor(runIdx),
        kind: 'bars',
        barSize: width * 0.92,
      }
    })
    const longest = Math.max(...categories.map((c) => shortLabel(c).length))
    const crowded = categories.length * (longest * 7 + 12) > 640
    const side = table({
      head: ['round', 'cached share'],
      numeric: [1],
      caption: 'prompt tokens served from cache',
      rows: byRun(
        data,
        data.runs.flatMap((run, runIdx) => run.rounds.map((r) => ({ runIdx, r }))),
        ({ r }) => ({ cells: [r.label, r.cachedShare === null ? { text: 'server reported none', class: 'muted' } : fmtShare(r.cachedShare)] as Cell[] }),
      ),
    })
    parts.push(
      figure(
        'Cached prompt tokens',
        'Share of prompt tokens the server reported as cached, per round; no bar where the server reported none.',
        chartBox({
          id: 'cached-share',
          small: false,
          height: 260,
          x: {
            label: 'round',
            range: [-0.5, categories.length - 0.5],
            splits: categories.map((_, i) => i),
            tickText: (v) => (Number.isInteger(v) ? shortLabel(categories[v] ?? '') : ''),
            ...(crowded ? { rotate: -35, size: Math.min(140, 24 + longest * 6) } : {}),
          },
          y: { label: 'cached share', range: [0, 1], format: pct },
          series,
        }),
        side,
      ),
    )
  } else if (anyRounds) {
    parts.push(h('p', { class: 'muted note' }, 'Cached prompt tokens: the server reported none.'))
  }
  const prom = data.runs.map((run, runIdx) => ({ run, runIdx, series: run.prometheus ?? [] })).filter((p) => p.series.length > 0)
  for (const { run, runIdx, series } of prom) {
    const names = [...new Set(series.flatMap((s) => Object.keys(s.values ?? {})))].sort()
    if (names.length === 0) continue
    parts.push(
      h(
        'div',
        { class: 'figure' },
        h('h3', null, h('span', { class: 'series-name' }, swatch(runColor(runIdx)), `Server metrics (Prometheus)${data.runs.length > 1 ? ` · ${run.name}` : ''}`)),
        h('p', { class: 'caption' }, 'Series scraped from the server during each round: gauges as their mean, counters as a rate per second.'),
        h(
          'div',
          { class: 'table-wrap' },
          table({
            head: ['series', ...series.map((s) => s.label)],
            numeric: series.map((_, i) => i + 1),
            rows: names.map((n) => ({ cells: [{ text: n, class: 'mono' }, ...series.map((s) => fmtNum(num(s.values?.[n])))] })),
            class: 'data wide',
          }),
        ),
      ),
    )
  }
  if (parts.length === 0) return null
  return section('server', 'Cache and server metrics', parts)
}
