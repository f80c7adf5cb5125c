/**
 * fixtures/hostile/: each file is one whole response a real or broken server could send. fluxperf run
 * gets it for every request, with a planted API key: the outcome is the documented one (see the
 * fixtures' README), the key reaches no file and no console line, and no control character is printed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, expect, test } from 'vitest'
import type { RunResult } from '../../src/types.ts'
import { runCli } from '../helpers/cli.ts'
import { onRequests } from '../helpers/rawRequests.ts'

const fixtures = new URL('../../fixtures/hostile/', import.meta.url)
const dir = mkdtempSync(join(tmpdir(), 'fluxperf-hostile-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

const KEY = 'sk-Planted-Hostile-KEY-42'

/** Serves `file` to every POST (GETs get 404), then closes the connection. */
async function replay(file: string): Promise<string> {
  const bytes = readFileSync(new URL(file, fixtures))
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    onRequests(socket, (head) => {
      if (!head.startsWith('POST ')) {
        socket.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n')
        return
      }
      const authorization = /\r\nauthorization: *([^\r\n]*)/i.exec(head)?.[1] ?? ''
      socket.end(Buffer.from(bytes.toString('latin1').replace('{{authorization}}', authorization.toLowerCase()), 'latin1'))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((r) => server.close(r))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`
}

/** Every file below `path`, recursively. */
function files(path: string): string[] {
  return readdirSync(path).flatMap((name) => (statSync(join(path, name)).isDirectory() ? files(join(path, name)) : [join(path, name)]))
}

test.each([
  ['random-bytes.bin', 1, 'protocol_error', undefined],
  ['escape-injection.http', 1, 'http_error', undefined],
  ['echo-key.http', 1, 'http_error', /\[redacted\]/],
  ['garbage-usage.http', 0, undefined, undefined],
  ['no-done.http', 0, undefined, /stream\(s\) ended after their finish chunk without data: \[DONE\]/],
  ['bom.http', 0, undefined, undefined],
  ['redirect-307.http', 1, 'http_error', /\/v2\/chat\/completions/],
  ['json-to-stream.http', 0, undefined, /answered with one JSON body/],
  ['truncated-stream.http', 1, 'incomplete_stream', undefined],
] as const)('%s: exit %i, %s', async (file, code, kind, says) => {
  const url = await replay(file)
  const out = join(dir, file)
  const r = await runCli(['run', '--endpoint', url, '--model', 'm', '--api-key', KEY, '--dataset', 'datasets/formats/text.jsonl', '--num-samples', '1',
    '--allow-unverified-cold-round', '--save-requests', '--no-progress', '--timeout', '10', '--output-dir', out], { timeoutMs: 60_000 })
  const console = `${r.stdout}${r.stderr}`
  expect(r.code).toBe(code)
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as RunResult
  expect(run.rounds[0]?.errors[0]?.kind).toBe(kind)
  if (says) expect(console).toMatch(says)
  expect(console).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/)
  for (const text of [console, ...files(out).map((f) => readFileSync(f, 'utf8'))]) expect(text.toLowerCase()).not.toContain(KEY.toLowerCase())
})

test('bom.http and garbage-usage.http keep what the server meant: the first token, and a tokenizer count', async () => {
  for (const file of ['bom.http', 'garbage-usage.http']) {
    const out = join(dir, `${file}-records`)
    await runCli(['run', '--endpoint', await replay(file), '--model', 'm', '--dataset', 'datasets/formats/text.jsonl', '--num-samples', '1',
      '--allow-unverified-cold-round', '--save-requests', '--no-progress', '--output-dir', out])
    const log = readdirSync(out).find((f) => f.startsWith('requests_round1')) as string
    const record = JSON.parse(readFileSync(join(out, log), 'utf8').split('\n')[0] as string) as { outputText?: string; usageRejected?: boolean; outputTokenSource: string }
    if (file === 'bom.http') expect(record.outputText).toBe('first second')
    else expect(record).toMatchObject({ usageRejected: true, outputTokenSource: 'tokenizer' })
  }
})
