import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, test } from 'vitest'
import { startMockServer } from '../../src/mock/index.ts'
import type { MockServer } from '../../src/mock/index.ts'
import { hasStackTrace } from '../helpers/cli.ts'
import { runMain } from './inProcess.ts'
import { freePort, listening } from '../helpers/net.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const bin = join(root, 'bin/fluxperf.mjs')
const dir = mkdtempSync(join(tmpdir(), 'fluxperf-recipe-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const children: ChildProcess[] = []
let mock: MockServer | undefined
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await mock?.close()
  mock = undefined
})

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** `node bin/fluxperf.mjs ...args` from the repository root; `onStdout` sees the output as it grows. */
function fluxperf(args: string[], env: Record<string, string>, onStdout?: (text: string, child: ChildProcess) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString()
      onStdout?.(stdout, child)
    })
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Two stages against `fluxperf mock` managed by the recipe; the stage variable ITL_MS sets the mock's decode speed. */
const MANAGED = `
server:
  command: fluxperf mock --port \${PORT:-8765} --itl-ms \${ITL_MS} --jitter 0 --seed 1
  health_url: http://127.0.0.1:\${PORT:-8765}/health
  restart: per-stage
  startup_timeout: 30
  stop_timeout: 5
global:
  endpoint: http://127.0.0.1:\${PORT:-8765}/v1/chat/completions
  dataset: datasets/formats/text.jsonl
  num-samples: 3
  concurrency: [1]
  max-output-tokens: 12
  seed: 4
  reset-cache-url: http://127.0.0.1:\${PORT:-8765}/reset_prefix_cache
  reset-cache-between-rounds: true
  prometheus-url: auto
  progress: false
stages:
  - name: fast
    env: { ITL_MS: "1" }
  - name: slow
    env: { ITL_MS: "10" }
`

describe('fluxperf run --recipe with a managed server', () => {
  test('each stage starts the mock with its env, runs, stops it; the report shows the stages differ', async () => {
    const port = await freePort()
    const recipe = join(dir, 'managed.yaml')
    writeFileSync(recipe, MANAGED)
    const out = join(dir, 'managed')
    // --num-samples on the command line overrides the recipe's 3
    const r = await fluxperf(['run', '--recipe', recipe, '--output-dir', out, '--num-samples', '2'], { PORT: String(port) })
    expect(r.stderr).not.toMatch(/error/i)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('# Stage 1/2: fast\n# env: ITL_MS=1')
    expect(r.stdout).toContain(`Starting the server: fluxperf mock --port ${port} --itl-ms 10 --jitter 0 --seed 1`)
    expect(r.stdout).toMatch(/Recipe summary: .*managed\.yaml \(2 stages/)
    expect(await listening(port)).toBe(false) // both servers were stopped

    const tpot = (stage: string): number => {
      const run = JSON.parse(readFileSync(join(out, stage, 'run.json'), 'utf8')) as { rounds: { total: number; metrics: { tpot: { avg: number } } }[] }
      expect(run.rounds.map((x) => x.total)).toEqual([2, 2])
      return run.rounds[0]?.metrics.tpot.avg as number
    }
    expect(tpot('slow')).toBeGreaterThan(3 * tpot('fast'))
    expect(readFileSync(join(out, 'fast', 'server.log'), 'utf8')).toContain(`serving mock-llm at http://127.0.0.1:${port}`)

    const csv = readFileSync(join(out, 'recipe_summary.csv'), 'utf8').split('\n')
    expect(csv[0]).toBe('Metric/Stage,fast/Concurrency1-Round1,fast/Concurrency1-Round2,slow/Concurrency1-Round1,slow/Concurrency1-Round2')
    expect(csv).toContain('Exit Code,0,0,0,0')
    const hitRate = csv.find((l) => l.startsWith('Prefix Cache Hit Rate (Prometheus)'))?.split(',').slice(1).map(Number) ?? []
    expect(hitRate[0]).toBeLessThan(hitRate[1] as number)
    const summary = JSON.parse(readFileSync(join(out, 'recipe.json'), 'utf8'))
    expect(summary.stages.map((s: { name: string; env: unknown; exitCode: number }) => [s.name, s.env, s.exitCode])).toEqual([['fast', { ITL_MS: '1' }, 0], ['slow', { ITL_MS: '10' }, 0]])
  })

  test('SIGINT during a stage: the server is stopped, no further stage runs, exit 130', async () => {
    const port = await freePort()
    const recipe = join(dir, 'interrupt.yaml')
    writeFileSync(recipe, MANAGED.replace('num-samples: 3', 'num-samples: 6').replace('max-output-tokens: 12', 'max-output-tokens: 400'))
    let sent = false
    const r = await fluxperf(['run', '--recipe', recipe, '--output-dir', join(dir, 'interrupt')], { PORT: String(port) }, (text, child) => {
      if (!sent && text.includes('Server healthy')) {
        sent = true
        setTimeout(() => child.kill('SIGINT'), 300)
      }
    })
    expect(r.code).toBe(130)
    expect(r.stdout).not.toContain('Stage 2/2')
    expect(await listening(port)).toBe(false)
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false)
  })
})

describe('fluxperf run --recipe: errors', () => {
  test('a wrong type fails before anything runs, naming the file, the line and the key (exit 2)', async () => {
    const recipe = join(dir, 'wrong-type.yaml')
    writeFileSync(recipe, 'global:\n  mock-server: true\n  dataset: datasets/example.jsonl\nstages:\n  - name: ok\n  - name: broken\n    concurrency: [2, many]\n')
    const r = await runMain(['run', '--recipe', recipe, '--output-dir', join(dir, 'never')])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`fluxperf: ${recipe}:7: stages[1].concurrency: expected a whole number ≥ 1, got "many"\n`)
    expect(existsSync(join(dir, 'never'))).toBe(false)
  })

  test('a server that exits before it is healthy fails its stage with its last output; the next stage still runs (exit 1)', async () => {
    const recipe = join(dir, 'crash.yaml')
    const port = await freePort()
    writeFileSync(recipe, `
server:
  command: node -e "console.error('no GPU found'); process.exit(\${CODE})"
  health_url: http://127.0.0.1:${port}/health
global:
  endpoint: http://127.0.0.1:${port}/v1/chat/completions
  dataset: datasets/formats/text.jsonl
  progress: false
stages:
  - name: one
    env: { CODE: "3" }
  - name: two
    env: { CODE: "4" }
`)
    const r = await runMain(['run', '--recipe', recipe, '--output-dir', join(dir, 'crash')])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/Stage one FAILED: server: the server exited with code 3 before http:\/\/127\.0\.0\.1:\d+\/health answered 200; its last output .*:\n {2}no GPU found/)
    expect(r.stdout).toContain('Stage two FAILED: server: the server exited with code 4')
    expect(readFileSync(join(dir, 'crash', 'recipe_summary.csv'), 'utf8')).toContain('Exit Code,1,1')
  })

  test('a server already answering at health_url is not benchmarked by mistake', async () => {
    mock = await startMockServer({ port: 0 })
    const recipe = join(dir, 'taken.yaml')
    writeFileSync(recipe, `server:\n  command: fluxperf mock --port ${mock.port}\n  health_url: ${mock.url}/health\nglobal:\n  endpoint: ${mock.url}/v1/chat/completions\n  dataset: datasets/formats/text.jsonl\n  progress: false\n`)
    const r = await runMain(['run', '--recipe', recipe, '--output-dir', join(dir, 'taken')])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`something already answers at ${mock.url}/health (HTTP 200) before the server was started`)
    expect(mock.stats().requests ?? 0).toBe(0)
  })
})

describe('fluxperf run --recipe: secrets in variables', () => {
  test('a variable that feeds api-key, a secret header or URL userinfo is never printed or saved, whatever its name', async () => {
    const recipe = join(dir, 'secrets.yaml')
    writeFileSync(recipe, `
global:
  mock-server: true
  dataset: datasets/formats/text.jsonl
  num-samples: 2
  concurrency: [1]
  max-output-tokens: 4
  progress: false
  api-key: \${AUTH}
  header: ["X-Gateway: \${GW}"]
  secret-header: [X-Gateway]
stages:
  - name: one
    env: { AUTH: "sk-Planted-Key-123", GW: "gw-Planted-Header-456", PLAIN: "visible-value" }
`)
    const out = join(dir, 'secrets')
    const r = await fluxperf(['run', '--recipe', recipe, '--output-dir', out], {})
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('PLAIN=visible-value')
    for (const planted of ['sk-Planted-Key-123', 'gw-Planted-Header-456']) {
      expect(`${r.stdout}${r.stderr}`).not.toContain(planted)
      expect(readFileSync(join(out, 'recipe.json'), 'utf8')).not.toContain(planted)
    }
    expect(r.stdout).toMatch(/AUTH=\[redacted\].*GW=\[redacted\]/)
  })
})
