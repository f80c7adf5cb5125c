/**
 * uPlot charts for the report. Sections describe a chart (`ChartSpec`) and get its box back at once; the
 * charts are drawn by `drawCharts()` once the page is in the DOM (uPlot needs the box's width). Every box
 * carries `data-chart="<id>"`, and `data-drawn="true"` after its first draw.
 */
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { fmtNum, fmtTick, num } from './format.ts'
import { h } from './dom.ts'

export type SeriesKind = 'line' | 'step' | 'points' | 'linePoints' | 'bars'

export interface SeriesSpec {
  label: string
  x: ArrayLike<number | null>
  y: ArrayLike<number | null>
  color: string
  dash?: number[] | undefined
  kind?: SeriesKind
  /** Bars: the bar's width as a share of the distance between this series' x values. */
  barSize?: number
  /** What the legend shows at the cursor instead of y (e.g. a stacked bar's own count), by source index. */
  legendY?: ArrayLike<number | null>
  /** Legend: the group (run) the series is listed under, and its name there (its round); else `label`. */
  group?: string
  name?: string
}

export interface AxisSpec {
  label: string
  /** 'auto': log when the positive values span more than two decades. */
  log?: boolean | 'auto'
  format?: (v: number) => string
  /** A fixed range (log scales too), or `zero` to keep 0 in view (linear). */
  range?: [number, number]
  /** Log base when log (10 unless told). */
  logBase?: 2 | 10
  /** Tick labels turned (degrees, e.g. -30) when they would overlap; `size` is then the axis height. */
  rotate?: number
  size?: number
  zero?: boolean
  /** Fixed tick positions (e.g. the concurrency levels, bar categories). */
  splits?: number[]
  /** Tick text for fixed splits (categories). */
  tickText?: (v: number) => string
  /** Counts: ticks on whole numbers only. */
  integer?: boolean
}

export interface ChartSpec {
  id: string
  x: AxisSpec
  y: AxisSpec
  series: SeriesSpec[]
  height?: number
  /** Small charts (several in a row). */
  small?: boolean
  /** List the series in the legend last first (stacked series are drawn tallest first). */
  legendReverse?: boolean
}

interface Pending {
  host: HTMLElement
  spec: ChartSpec
}

const pending: Pending[] = []
const charts = new Map<HTMLElement, uPlot>()

/** The box a chart will be drawn in; drawn by `drawCharts()`. */
export function chartBox(spec: ChartSpec): HTMLDivElement {
  const host = h('div', { class: spec.small ? 'chart small' : 'chart', 'data-chart': spec.id })
  pending.push({ host, spec })
  return host
}

/** Draws every chart described so far; resolves when each has drawn once. Failures are shown in place. */
export function drawCharts(): Promise<string[]> {
  const failures: string[] = []
  const drawn: Promise<void>[] = []
  const observer = typeof ResizeObserver === 'function' ? new ResizeObserver(onResize) : null
  for (const { host, spec } of pending.splice(0)) {
    try {
      let resolve!: () => void
      drawn.push(new Promise<void>((r) => (resolve = r)))
      const chart = makeChart(host, spec, resolve)
      charts.set(host, chart)
      observer?.observe(host)
    } catch (error) {
      failures.push(`${spec.id}: ${error instanceof Error ? error.message : String(error)}`)
      host.dataset.drawn = 'error'
      host.append(h('p', { class: 'error' }, `This chart could not be drawn: ${String(error)}`))
      drawn.pop()
    }
  }
  // A chart that never draws (it should not happen) must not keep the page from saying it is done.
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 15_000))
  return Promise.race([Promise.all(drawn), timeout]).then(() => {
    for (const host of charts.keys()) if (host.dataset.drawn !== 'true') failures.push(`${host.dataset.chart}: not drawn`)
    return failures
  })
}

let resizeFrame = 0
function onResize(): void {
  cancelAnimationFrame(resizeFrame)
  resizeFrame = requestAnimationFrame(() => {
    for (const [host, chart] of charts) {
      const width = widthOf(host)
      if (Math.abs(width - chart.width) >= 2) chart.setSize({ width, height: chart.height })
    }
  })
}

function widthOf(host: HTMLElement): number {
  return Math.max(240, Math.floor(host.clientWidth))
}

/** True when the positive values span more than two decades. */
function spansDecades(values: Iterable<number | null>): boolean {
  let min = Infinity
  let max = -Infinity
  for (const v of values) {
    if (v === null || !(v > 0)) continue
    if (v < min) min = v
    if (v > max) max = v
  }
  return Number.isFinite(min) && max / min > 100
}

function* valuesOf(series: SeriesSpec[], axis: 'x' | 'y'): Generator<number | null> {
  for (const s of series) {
    const a = s[axis]
    for (let i = 0; i < a.length; i++) yield num(a[i])
  }
}

/**
 * The series on one shared, sorted x (uPlot's aligned data): a row per distinct x per series, null where a
 * series has no point. Points with the same x in one series (a vertical step, a bucket's low and high)
 * keep their own rows in order. `src[s][row]` is the series' own index of the point, or -1.
 */
export function align(series: SeriesSpec[], xLog: boolean, yLog: boolean): { data: uPlot.AlignedData; src: Int32Array[] } {
  let total = 0
  for (const s of series) total += Math.min(s.x.length, s.y.length)
  const xs = new Float64Array(total)
  const owner = new Int32Array(total)
  const index = new Int32Array(total)
  let n = 0
  series.forEach((s, si) => {
    const len = Math.min(s.x.length, s.y.length)
    for (let i = 0; i < len; i++) {
      const x = num(s.x[i])
      if (x === null || (xLog && !(x > 0))) continue
      xs[n] = x
      owner[n] = si
      index[n] = i
      n++
    }
  })
  const order = Array.from({ length: n }, (_, i) => i)
  order.sort((a, b) => (xs[a] as number) - (xs[b] as number) || (owner[a] as number) - (owner[b] as number) || (index[a] as number) - (index[b] as number))
  const x: number[] = []
  const ys: (number | null)[][] = series.map(() => [])
  const srcs: number[][] = series.map(() => [])
  for (const k of order) {
    const xv = xs[k] as number
    const si = owner[k] as number
    const row = x.length - 1
    let target = row
    if (row < 0 || x[row] !== xv || (srcs[si] as number[])[row] !== -1) {
      x.push(xv)
      for (let s = 0; s < series.length; s++) {
        ;(ys[s] as (number | null)[]).push(null)
        ;(srcs[s] as number[]).push(-1)
      }
      target = row + 1
    }
    const y = num((series[si] as SeriesSpec).y[index[k] as number])
    ;(ys[si] as (number | null)[])[target] = yLog && y !== null && !(y > 0) ? null : y
    ;(srcs[si] as number[])[target] = index[k] as number
  }
  return { data: [x, ...ys] as uPlot.AlignedData, src: srcs.map((s) => Int32Array.from(s)) }
}

const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
const LABEL_FONT = '600 12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
const GRID = { stroke: '#e6e8eb', width: 1 }
const TICKS = { stroke: '#c9ced4', width: 1, size: 5 }

/** The y axis as wide as its longest tick label. */
function fitAxis(self: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = self.axes[axisIdx] as uPlot.Axis & { _size?: number; font?: unknown }
  if (cycleNum > 1 && axis._size) return axis._size
  let size = 5 + 8
  const longest = (values ?? []).reduce<string>((a, v) => (v != null && String(v).length > a.length ? String(v) : a), '')
  if (longest) {
    const font = Array.isArray(axis.font) ? String(axis.font[0]) : FONT
    self.ctx.font = font
    size += self.ctx.measureText(longest).width / (window.devicePixelRatio || 1)
  }
  return Math.ceil(Math.max(size, 36))
}

function scaleOf(axis: AxisSpec, log: boolean): uPlot.Scale {
  const fixed = axis.range
  if (log) {
    const base = axis.logBase ?? 10
    return {
      time: false,
      distr: 3,
      log: base,
      // The data's extent with a little room, not whole decades: a 1 to 10,000 axis for 3 to 1,500 ms wastes the chart.
      range: fixed ? [fixed[0], fixed[1]] : (_u, min, max) => (min == null || max == null || !(min > 0) ? [1, 10] : min === max ? [min / 2, max * 2] : [min / 1.15, max * 1.15]),
    }
  }
  if (fixed) return { time: false, range: [fixed[0], fixed[1]] }
  return {
    time: false,
    range: (_u, min, max) => {
      if (min == null || max == null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1]
      let lo = axis.zero ? Math.min(0, min) : min
      let hi = axis.zero ? Math.max(0, max) : max
      if (lo === hi) {
        const d = Math.abs(hi) * 0.1 || 1
        return [axis.zero && lo >= 0 ? 0 : lo - d, hi + d]
      }
      const [a, b] = uPlot.rangeNum(lo, hi, 0.05, true)
      lo = axis.zero && min >= 0 ? Math.max(0, a ?? lo) : (a ?? lo)
      hi = b ?? hi
      return [lo, hi]
    },
  }
}

const INTEGER_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 25_000, 50_000, 100_000, 200_000, 500_000, 1e6, 2e6, 5e6, 1e7]

/** Log-axis ticks at 1, 2 and 5 of each decade in view (every mantissa when the range is narrow). */
function logSplits(min: number, max: number): number[] {
  if (!(min > 0) || !(max > min)) return [min, max].filter((v) => v > 0)
  const pick = (mantissas: number[]) => {
    const out: number[] = []
    for (let k = Math.floor(Math.log10(min)); k <= Math.ceil(Math.log10(max)); k++) {
      for (const m of mantissas) {
        const v = +(m * 10 ** k).toPrecision(12)
        if (v >= min && v <= max) out.push(v)
      }
    }
    return out
  }
  const coarse = pick([1, 2, 5])
  if (coarse.length >= 3) return coarse
  const fine = pick([1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9])
  return fine.length >= 2 ? fine : [min, max]
}

function axisOf(axis: AxisSpec, side: 'x' | 'y', log: boolean): uPlot.Axis {
  const format = axis.format ?? fmtTick
  const base: uPlot.Axis = {
    label: axis.label,
    labelFont: LABEL_FONT,
    labelSize: 20,
    font: FONT,
    stroke: '#4a5561',
    grid: GRID,
    ticks: TICKS,
    values: (_u, splits) =>
      splits.map((v) => (v == null ? '' : axis.tickText ? axis.tickText(v) : format(v))),
  }
  if (axis.splits) {
    const fixed = axis.splits
    base.splits = () => fixed
  } else if (log && (axis.logBase ?? 10) === 10) {
    base.splits = (_u, _i, min, max) => logSplits(min, max)
    base.filter = (_u, splits) => splits
  }
  if (axis.integer) base.incrs = INTEGER_INCRS
  if (side === 'x') base.size = 34
  if (side === 'y') base.size = fitAxis
  if (axis.rotate) base.rotate = axis.rotate
  if (axis.size) base.size = axis.size
  if (log && side === 'y') base.space = 24
  return base
}

function seriesOf(spec: SeriesSpec): uPlot.Series {
  const kind = spec.kind ?? 'line'
  const s: uPlot.Series = {
    label: spec.label,
    stroke: spec.color,
    width: kind === 'points' ? 0 : 1.75,
    spanGaps: true,
  }
  if (spec.dash) s.dash = spec.dash
  switch (kind) {
    case 'points':
      s.paths = () => null
      s.points = { show: true, size: 3.5, width: 0, stroke: spec.color, fill: spec.color }
      break
    case 'linePoints':
      s.points = { show: true, size: 7, width: 1.5, stroke: spec.color, fill: '#fff' }
      break
    case 'step':
      s.paths = (uPlot.paths.stepped as NonNullable<typeof uPlot.paths.stepped>)({ align: 1 })
      s.points = { show: false }
      break
    case 'bars':
      s.paths = (uPlot.paths.bars as NonNullable<typeof uPlot.paths.bars>)({ size: [spec.barSize ?? 0.8, 56], gap: 1 })
      s.fill = spec.color
      s.width = 0
      s.points = { show: false }
      break
    default:
      s.points = { show: false }
  }
  return s
}

function makeChart(host: HTMLElement, spec: ChartSpec, onDrawn: () => void): uPlot {
  const xLog = spec.x.log === true || (spec.x.log === 'auto' && spansDecades(valuesOf(spec.series, 'x')))
  const yLog = spec.y.log === true || (spec.y.log === 'auto' && spansDecades(valuesOf(spec.series, 'y')))
  if (xLog) host.dataset.xLog = 'true'
  if (yLog) host.dataset.yLog = 'true'
  const { data, src } = align(spec.series, xLog, yLog)
  const xFormat = spec.x.format ?? fmtTick
  const yFormat = spec.y.format ?? fmtNum
  let drawn = false
  const legend = makeLegend(
    spec,
    (v) => (spec.x.tickText ? spec.x.tickText(v) : xFormat(v)),
    (si, row) => {
      const s = spec.series[si] as SeriesSpec
      if (s.legendY) {
        const i = (src[si] as Int32Array)[row] ?? -1
        return i < 0 ? '' : fmtNum(num(s.legendY[i]))
      }
      const v = data[si + 1]?.[row]
      return v == null ? '' : yFormat(v)
    },
  )
  const opts: uPlot.Options = {
    width: widthOf(host),
    height: spec.height ?? (spec.small ? 220 : 300),
    pxAlign: 0,
    scales: { x: scaleOf(spec.x, xLog), y: scaleOf(spec.y, yLog) },
    axes: [axisOf(spec.x, 'x', xLog), axisOf(spec.y, 'y', yLog)],
    series: [
      { label: spec.x.label },
      ...spec.series.map(seriesOf),
    ],
    cursor: {
      hover: { skip: [null, undefined] },
      drag: { x: true, y: false, setScale: true },
      points: { size: 7 },
    },
    legend: { show: false },
    hooks: {
      init: [(u) => legend.update(u)],
      setCursor: [(u) => legend.update(u)],
      draw: [
        () => {
          if (drawn) return
          drawn = true
          host.dataset.drawn = 'true'
          onDrawn()
        },
      ],
    },
  }
  const chart = new uPlot(opts, data, host)
  host.append(legend.el)
  return chart
}

/**
 * The legend under a chart: a line per group (run) listing its series (rounds) with their line style,
 * the value at the cursor, and a click to hide or show the series.
 */
function makeLegend(spec: ChartSpec, xText: (v: number) => string, yText: (si: number, row: number) => string): { el: HTMLElement; update: (u: uPlot) => void } {
  const values: HTMLElement[] = []
  const items: HTMLElement[] = []
  const xValue = h('span', { class: 'legend-x' })
  const el = h('div', { class: 'legend' }, xValue)
  const groups = new Map<string, HTMLElement>()
  let chart: uPlot | null = null
  spec.series.forEach((s, i) => {
    const key = s.group ?? ''
    let row = groups.get(key)
    if (!row) {
      row = h('div', { class: 'legend-row' }, key ? h('span', { class: 'legend-group' }, key) : null)
      groups.set(key, row)
      el.append(row)
    }
    const value = h('span', { class: 'legend-value' })
    const mark = h('span', { class: `legend-mark ${s.kind ?? 'line'}${s.dash ? ' dashed' : ''}` })
    mark.style.borderColor = s.color
    if (s.kind === 'points' || s.kind === 'bars') mark.style.background = s.color
    const item = h('button', { type: 'button', class: 'legend-item', title: `${s.label}: click to hide or show` }, mark, h('span', { class: 'legend-name' }, s.name ?? s.label), value)
    item.addEventListener('click', () => {
      if (!chart) return
      const shown = chart.series[i + 1]?.show !== false
      chart.setSeries(i + 1, { show: !shown })
      item.classList.toggle('off', shown)
    })
    values.push(value)
    items.push(item)
    // Reversed: each item goes first, after the group's name.
    if (spec.legendReverse) row.insertBefore(item, key ? (row.children[1] ?? null) : row.firstChild)
    else row.append(item)
  })
  return {
    el,
    update(u: uPlot) {
      chart = u
      const idx = u.cursor.idx
      const x = idx == null ? null : (u.data[0][idx] ?? null)
      xValue.textContent = x == null ? '' : `${spec.x.label}: ${xText(x)}`
      values.forEach((v, i) => {
        const row = u.cursor.idxs?.[i + 1]
        v.textContent = idx == null || row == null ? '' : yText(i, row)
      })
    },
  }
}

/** Qualitative colours that read on white (d3 category10 and two more). */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#393b79', '#637939']

export function color(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length] as string
}

/** Round 1 solid, round 2 dashed, then dotted and dash-dot. */
export function dashOf(round: number): number[] | undefined {
  const dashes: (number[] | undefined)[] = [undefined, [7, 4], [2, 3], [9, 3, 2, 3]]
  return dashes[(Math.max(1, Math.round(round)) - 1) % dashes.length]
}
