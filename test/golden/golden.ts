// Helpers of the golden tests (test/golden/README.md): temp output directories, the comparison with the
// checked-in files under test/golden/__golden__/, and FLUXPERF_UPDATE_GOLDEN=1 to rewrite them.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'
import { mask, TMP_PREFIX } from './mask.ts'

export const GOLDEN_ROOT = fileURLToPath(new URL('./__golden__/', import.meta.url))

/** FLUXPERF_UPDATE_GOLDEN=1 rewrites the golden files from this run instead of comparing. */
export const UPDATE = process.env['FLUXPERF_UPDATE_GOLDEN'] === '1'

/** A fresh temp directory whose path mask() reads as <TMP>. */
export function goldenTmpDir(): string {
  return mkdtempSync(join(tmpdir(), TMP_PREFIX))
}

const compared = new Set<string>()

/**
 * Compares `actual` with test/golden/__golden__/<rel> (exact text, no snapshot serialiser), or writes it
 * there with FLUXPERF_UPDATE_GOLDEN=1.
 */
export function expectGolden(rel: string, actual: string): void {
  compared.add(rel)
  const path = join(GOLDEN_ROOT, rel)
  if (UPDATE) {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, actual)
    return
  }
  if (!existsSync(path)) throw new Error(`no golden file test/golden/__golden__/${rel}; write it with FLUXPERF_UPDATE_GOLDEN=1 npx vitest run test/golden`)
  expect(actual, `test/golden/__golden__/${rel} (FLUXPERF_UPDATE_GOLDEN=1 rewrites it; review the diff)`).toBe(readFileSync(path, 'utf8'))
}

/**
 * Golden files under `dir` (e.g. `run`) that no test compared in this run: left over from outputs that
 * no longer exist. FLUXPERF_UPDATE_GOLDEN=1 deletes them. Call after every test of the file has run.
 */
export function staleGoldenFiles(dir: string): string[] {
  const base = join(GOLDEN_ROOT, dir)
  if (!existsSync(base)) return []
  const all = listFiles(base).map((f) => `${dir}/${f}`)
  const stale = all.filter((rel) => !compared.has(rel))
  // Only when the run compared something here: a command that crashed must not empty the directory.
  if (UPDATE && stale.length < all.length) for (const rel of stale) rmSync(join(GOLDEN_ROOT, rel))
  return UPDATE ? [] : stale
}

/** Every file under `dir`, relative to it, sorted, with `/` separators. */
export function listFiles(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name)
      if (statSync(path).isDirectory()) walk(path)
      else out.push(relative(dir, path).split('\\').join('/'))
    }
  }
  walk(dir)
  return out.sort()
}

/** An output file name as listed in files.txt: its timestamp masked (`requests_multi_turn_<STAMP>.jsonl`). */
export function maskedName(file: string): string {
  return mask('name.txt', file)
}

/** The name of an output's golden file: maskedName without the angle brackets (`requests_multi_turn_STAMP.jsonl`). */
export function goldenName(file: string): string {
  return maskedName(file).replace(/[<>]/g, '')
}

/**
 * The raw text of an output file after checking its serialisation: JSON files are `JSON.stringify(v, null, 2)`
 * plus a newline (a round file's requests one compact entry a line), JSONL lines are compact JSON. mask() re-serialises JSON, so the layout is pinned here.
 */
export function readOutput(path: string): string {
  const raw = readFileSync(path, 'utf8')
  if (path.endsWith('.jsonl')) {
    for (const line of raw.split('\n').filter((l) => l !== '')) expect(line, `${path}: compact JSON per line`).toBe(JSON.stringify(JSON.parse(line)))
    expect(raw.endsWith('\n'), `${path} ends with a newline`).toBe(true)
  } else if (/concurrency_\d+_round_\d+\.json$/.test(path)) {
    // The round files: configuration and summary indented, then one compact request entry a line.
    const { requests, ...head } = JSON.parse(raw) as { requests: unknown[] }
    const opening = JSON.stringify(head, null, 2)
    const layout = `${opening.slice(0, opening.lastIndexOf('\n}'))},\n  "requests": ${requests.length === 0 ? '[]' : '['}` +
      requests.map((e, i) => `${i === 0 ? '' : ','}\n    ${JSON.stringify(e)}`).join('') + `${requests.length === 0 ? '' : '\n  ]'}\n}\n`
    expect(raw, `${path}: configuration and summary with 2-space indent, then one compact request entry a line, and a final newline`).toBe(layout)
  } else if (path.endsWith('.json')) {
    expect(raw, `${path}: JSON with 2-space indent and a final newline`).toBe(JSON.stringify(JSON.parse(raw), null, 2) + '\n')
  }
  return raw
}

/** Rounds as every workload's run.json has them today. */
interface RunJsonRound {
  label: string
  concurrency: number
  round: number
  total: number
  succeeded: number
  failed: number
}

/**
 * RUN.JSON SCHEMA MAY CHANGE (the workload-engine redesign): of run.json only these facts are pinned,
 * each one also visible in a seed-compatible output. Adapt this function, not the golden facts file,
 * when the schema changes.
 */
export function runJsonFacts(raw: string): string {
  const run = JSON.parse(raw) as { workload: string; model: string; seed: number; interrupted: boolean; rounds: RunJsonRound[] }
  const facts = {
    workload: run.workload,
    model: run.model,
    seed: run.seed,
    interrupted: run.interrupted,
    rounds: run.rounds.map((r) => ({ label: r.label, concurrency: r.concurrency, round: r.round, total: r.total, succeeded: r.succeeded, failed: r.failed })),
  }
  return JSON.stringify(facts, null, 2) + '\n'
}
