/**
 * The fluxperf HTML report viewer. The page holds its data in `<script type="application/json"
 * id="fluxperf-data">`; the Node side (src/report/html) puts the JSON where the template holds the
 * placeholder. This script only draws: no network, no storage. See docs/design/report.md.
 */
import type { ReportData } from '../src/report/html/data.ts'
import { drawCharts } from './charts.ts'
import { h } from './dom.ts'
import { byTurnSection, capacitySection, comparisonSection, concurrencySection, distributionSection, headerSection, serverSection, timelineSection, verdictSection } from './sections.ts'
import './style.css'

/** The data version this viewer draws (a type error here when data.ts bumps REPORT_DATA_VERSION). */
const VERSION: ReportData['version'] = 1

function readData(): ReportData {
  const el = document.getElementById('fluxperf-data')
  if (!el) throw new Error('this page holds no report data (no #fluxperf-data element)')
  let data: unknown
  try {
    data = JSON.parse(el.textContent ?? '')
  } catch (error) {
    throw new Error(`the report data is not valid JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  // The template's own placeholder is a JSON string: the page was opened before data was put in.
  if (typeof data === 'string') throw new Error('this is the empty report template: write a report with `fluxperf report <run dir>`')
  if (!data || typeof data !== 'object') throw new Error('the report data is not an object')
  const version = (data as { version?: unknown }).version
  if (version !== VERSION) throw new Error(`the report data has version ${String(version)}; this viewer draws version ${VERSION}. Open it with the fluxperf version that wrote it.`)
  if (!Array.isArray((data as { runs?: unknown }).runs)) throw new Error('the report data has no runs')
  return data as ReportData
}

function fail(app: HTMLElement, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error)
  app.append(h('div', { class: 'banner error', role: 'alert' }, h('strong', null, 'The report cannot be shown: '), message))
  document.body.dataset.error = message
}

async function main(): Promise<void> {
  const app = document.getElementById('app') ?? document.body.appendChild(h('main', { id: 'app' }))
  try {
    const data = readData()
    document.title = `fluxperf report: ${data.runs.map((r) => r.name).join(' vs ') || 'no runs'}`
    const sections = [
      headerSection(data),
      capacitySection(data.capacity),
      verdictSection(data),
      comparisonSection(data.comparison),
      distributionSection(data),
      byTurnSection(data),
      // A sweep's steps have the capacity section's load axis; one level each, the concurrency charts would say nothing.
      data.capacity ? null : concurrencySection(data),
      timelineSection(data),
      serverSection(data),
    ]
    for (const s of sections) if (s) app.append(s)
    app.append(h('footer', { class: 'footer' }, `${data.tool} · report data v${data.version} · generated ${data.generatedAt} · self-contained, no network`))
    const failures = await drawCharts()
    if (failures.length) document.body.dataset.error = failures.join('; ')
  } catch (error) {
    fail(app, error)
  } finally {
    document.body.dataset.ready = 'true'
  }
}

void main()
