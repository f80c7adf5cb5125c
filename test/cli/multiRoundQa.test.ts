import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { QA_CSV_COLUMNS } from '../../src/report/index.ts'
import { hasStackTrace, runCli } from '../helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'fluxperf-cli-qa-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const out = (name: string): string => join(dir, name)

describe('fluxperf multi-round-qa', () => {
  test('against the built-in mock: the seed files with their names, the CSV of every send, the verdict', async () => {
    const r = await runCli(['multi-round-qa', '--mock-server', '--qps', '4', '--time', '2', '--num-users', '3', '--num-rounds', '2', '--answer-len', '8',
      '--shared-system-prompt', '50', '--user-history-prompt', '20', '--model', 'llama3', '--seed', '1', '--no-progress',
      '--output-dir', out('qa'), '--output', out('qa/summary.csv')])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Final performance summary')
    expect(r.stdout).toMatch(/^PASSED: 8\/8 requests succeeded, achieved 4\.00 of 4\.00 QPS \(0 late, 0 dropped of 8 scheduled\)/m)
    expect(readdirSync(out('qa')).sort()).toEqual([
      'final_performance_summary_qps_4.00.txt', 'metrics_summary.csv', 'performance_summary_qps_4.00.txt', 'realtime_stats_qps_4.00.txt', 'report.html', 'run.json', 'summary.csv',
    ])
    const csv = readFileSync(out('qa/summary.csv'), 'utf8').trim().split('\n')
    expect(csv[0]).toBe(QA_CSV_COLUMNS.join(','))
    expect(csv).toHaveLength(9)
    const run = JSON.parse(readFileSync(out('qa/run.json'), 'utf8'))
    expect(run.workload).toBe('multi-round-qa')
    expect(run.model).toBe('llama3')
    expect(run.openLoop).toMatchObject({ targetRate: 4, scheduled: 8, sent: 8, late: 0, dropped: 0 })
  })

  test('SIGINT mid-run: the schedule stops, waiting sends are dropped, files are written, exit 130', async () => {
    let signalled = false
    const r = await runCli(['multi-round-qa', '--mock-server', '--qps', '10', '--time', '30', '--num-users', '2', '--answer-len', '4', '--output-dir', out('int'), '--output', out('int/s.csv')], {
      onStdout(text, child) {
        if (!signalled && text.includes('Started the built-in mock')) {
          signalled = true
          setTimeout(() => child.kill('SIGINT'), 500)
        }
      },
    })
    expect(r.code).toBe(130)
    expect(r.stdout).toMatch(/^INTERRUPTED:/m)
    const run = JSON.parse(readFileSync(out('int/run.json'), 'utf8'))
    expect(run.interrupted).toBe(true)
    expect(run.openLoop.sent + run.openLoop.dropped).toBe(run.openLoop.scheduled)
    expect(run.openLoop.scheduled).toBeLessThan(300)
    expect(readdirSync(out('int'))).toContain('final_performance_summary_qps_10.00.txt')
  })

  test.each([
    [['--mock-server', '--qps', '0'], '--qps'],
    [['--mock-server'], '--qps'],
    [['--mock-server', '--qps', '1', '--arrival', 'uniform'], '--arrival'],
    [['--base-url', 'not a url', '--qps', '1'], '--base-url'],
    [['--qps', '1'], '--base-url'],
  ])('bad flags %j exit 2 naming %s', async (args, flag) => {
    const r = await runCli(['multi-round-qa', ...args, '--output-dir', out('flags'), '--output', out('flags/s.csv')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(flag)
    expect(hasStackTrace(r.stderr)).toBe(false)
  })
})
