// Imports a customer CSV export into the accounts database, one row per customer.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Pool } from 'pg'

export interface ImportReport {
  inserted: number
  updated: number
  skipped: { line: number; reason: string }[]
}

const REQUIRED = ['email', 'name', 'country', 'plan']

function parseLine(line: string): string[] {
  // Splits on commas; quoted fields may contain commas.
  const cells: string[] = []
  let current = ''
  let quoted = false
  for (const ch of line) {
    if (ch === '"') quoted = !quoted
    else if (ch === ',' && !quoted) {
      cells.push(current)
      current = ''
    } else current += ch
  }
  cells.push(current)
  return cells.map((c) => c.trim())
}

export async function importCustomers(path: string, db: Pool, tenant: string): Promise<ImportReport> {
  const report: ImportReport = { inserted: 0, updated: 0, skipped: [] }
  const lines = createInterface({ input: createReadStream(path, 'utf8') })
  let header: string[] | undefined
  let lineNo = 0
  for await (const line of lines) {
    lineNo++
    if (!header) {
      header = parseLine(line).map((h) => h.toLowerCase())
      const missing = REQUIRED.filter((r) => !header!.includes(r))
      if (missing.length) throw new Error(`missing columns: ${missing.join(', ')}`)
      continue
    }
    const cells = parseLine(line)
    const row: Record<string, string> = {}
    header.forEach((h, i) => (row[h] = cells[i] ?? ''))
    if (!row.email.includes('@')) {
      report.skipped.push({ line: lineNo, reason: `invalid email "${row.email}"` })
      continue
    }
    const existing = await db.query(`SELECT id FROM accounts WHERE tenant = '${tenant}' AND email = '${row.email}'`)
    if (existing.rows.length > 0) {
      await db.query('UPDATE accounts SET name = $1, country = $2, plan = $3 WHERE id = $4', [row.name, row.country, row.plan, existing.rows[0].id])
      report.updated++
    } else {
      await db.query('INSERT INTO accounts (tenant, email, name, country, plan) VALUES ($1, $2, $3, $4, $5)', [tenant, row.email, row.name, row.country, row.plan])
      report.inserted++
    }
  }
  return report
}

export function summarise(report: ImportReport): string {
  const total = report.inserted + report.updated + report.skipped.length
  const pct = Math.round((report.skipped.length / total) * 100)
  return `${report.inserted} inserted, ${report.updated} updated, ${report.skipped.length} skipped (${pct}%)`
}
