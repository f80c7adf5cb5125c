/** Number and text formatting for the report: fixed locale so a report reads the same everywhere. */

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })
const fixed = [0, 1, 2, 3].map((d) => new Intl.NumberFormat('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }))

/** A finite number, or null (JSON turns NaN and Infinity into null; old data may hold anything). */
export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

export const DASH = '—'

/** A value with precision that suits its size: 0.412, 4.12, 41.2, 412, 4,120. */
export function fmtNum(value: number | null | undefined): string {
  const v = num(value)
  if (v === null) return DASH
  const a = Math.abs(v)
  const digits = a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3
  return (fixed[digits] as Intl.NumberFormat).format(v)
}

/** Milliseconds; the unit is in the column header or axis label. */
export const fmtMs = fmtNum

/** A count: 12,345. */
export function fmtCount(value: number | null | undefined): string {
  const v = num(value)
  return v === null ? DASH : grouped.format(v)
}

/** A share 0..1 as a percentage: 0.1234 → "12.3 %". */
export function fmtShare(value: number | null | undefined, digits = 1): string {
  const v = num(value)
  return v === null ? DASH : `${(fixed[digits] as Intl.NumberFormat).format(v * 100)} %`
}

/** A relative change as a share: 0.12 → "+12.0 %". */
export function fmtChange(value: number | null | undefined): string {
  const v = num(value)
  if (v === null) return DASH
  const text = fmtShare(v)
  return v > 0 ? `+${text}` : text
}

/** Axis tick: short, no unit (1.5k for 1,500). */
export function fmtTick(v: number): string {
  const a = Math.abs(v)
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`
  if (a >= 100 || a === 0) return grouped.format(v)
  return String(+v.toPrecision(3))
}

/** An ISO time as "2026-12-05 05:33:37 UTC" (the report is read anywhere; UTC is unambiguous). */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return DASH
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** Seconds as "42.0 s" or "3 min 12 s". */
export function fmtDuration(seconds: number | null | undefined): string {
  const s = num(seconds)
  if (s === null) return DASH
  if (s < 120) return `${fmtNum(s)} s`
  const m = Math.floor(s / 60)
  if (m < 120) return `${m} min ${Math.round(s - m * 60)} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

/** The duration between two ISO times, in seconds, or null. */
export function secondsBetween(from: string, to: string): number | null {
  const a = Date.parse(from)
  const b = Date.parse(to)
  return Number.isFinite(a) && Number.isFinite(b) ? (b - a) / 1000 : null
}

/** "Concurrency4-Round1" → "C4 R1" for crowded axes (tables keep the full label). */
export function shortLabel(label: string): string {
  const m = /^Concurrency(\d+)-Round(\d+)$/.exec(label)
  return m ? `C${m[1]} R${m[2]}` : label
}

export function plural(n: number, word: string): string {
  return `${fmtCount(n)} ${word}${n === 1 ? '' : 's'}`
}
