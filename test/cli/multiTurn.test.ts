import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { hasStackTrace, runCli } from '../helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-cli-mt-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const out = (name: string): string => join(dir, name)
const quick = ['-c', '3', '-t', '3', '-m', '8', '-p', '3', '--min-delay', '0', '--max-delay', '0.01', '--seed', '3', '--no-progress']

describe('fluxperf multi-turn', () => {
  test('against the built-in mock: the seed summary, TTFT by turn, the speedup, and the reports', async () => {
    const r = await runCli(['multi-turn', '--mock-server', ...quick, '--save-requests', '--output-dir', out('demo')])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    for (const text of ['BENCHMARK SUMMARY', 'Total requests: 9', 'Completed conversations: 3/3', 'Requests per second:', 'Time to First Token (TTFT):',
      'Total Request Time:', 'TTFT by Turn Number:', 'Turn  3:', 'First Turn vs Subsequent Turns', 'Speedup ratio:', 'Breakdown by Document Type:']) {
      expect(r.stdout).toContain(text)
    }
    expect(r.stdout).toMatch(/^PASSED: 9\/9 requests succeeded, 3\/3 conversations completed/m)
    const files = readdirSync(out('demo'))
    for (const f of ['run.json', 'metrics_summary.csv', 'ttft_by_turn.csv', 'document_types.csv', 'requests.csv']) expect(files).toContain(f)
    expect(files.some((f) => /^requests_multi_turn_\d{8}_\d{6}\.jsonl$/.test(f))).toBe(true)
    const run = JSON.parse(readFileSync(join(out('demo'), 'run.json'), 'utf8'))
    expect(run.workload).toBe('multi-turn')
    expect(run.seed).toBe(3)
    expect(run.byTurn.map((t: { turn: number }) => t.turn)).toEqual([1, 2, 3])
    expect(readFileSync(join(out('demo'), 'metrics_summary.csv'), 'utf8').split('\n')[0]).toBe('Metric/Round,Turn1,Turns2+')
    expect(readFileSync(join(out('demo'), 'requests.csv'), 'utf8').trim().split('\n')).toHaveLength(10)
  })

  test('SIGINT mid-run: no new requests, reports for what completed, exit 130', async () => {
    let signalled = false
    const r = await runCli(['multi-turn', '--mock-server', '-c', '4', '-t', '6', '-m', '8', '-p', '2', '--min-delay', '0.2', '--max-delay', '0.3', '-v', '--output-dir', out('int')], {
      onStdout(text, child) {
        if (!signalled && /turn 1\]/.test(text)) {
          signalled = true
          child.kill('SIGINT')
        }
      },
    })
    expect(r.code).toBe(130)
    expect(r.stdout).toMatch(/^INTERRUPTED: \d+ requests completed before the stop/m)
    const run = JSON.parse(readFileSync(join(out('int'), 'run.json'), 'utf8'))
    expect(run.interrupted).toBe(true)
    expect(run.conversations.completed).toBeLessThan(4)
  })

  test.each([
    [['--mock-server', '-c', '0'], '--conversations'],
    [['--mock-server', '--min-delay', '2', '--max-delay', '1'], '--max-delay'],
    [['http://127.0.0.1:9/v1', '--mock-server'], '--mock-server'],
    [[], '<base-url>'],
    [['localhost:8000'], '<base-url>'],
    [['http://127.0.0.1:9/v1/chat/completions'], 'give the base URL'],
    [['--mock-server', '-d', 'no/such/dir'], '--seed-documents'],
    [['http://127.0.0.1:9/v1', '--no-mock-prefix-cache'], '--no-mock-prefix-cache'],
  ])('bad flags %j exit 2 naming %s', async (args, flag) => {
    const r = await runCli(['multi-turn', ...args, '--output-dir', out('flags')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(flag)
    expect(hasStackTrace(r.stderr)).toBe(false)
  })
})
