import { describe, expect, it } from 'vitest'
import { mockCommand, mockOptionsFromFlags, serveMock } from '../../src/cli/mock.ts'
import { InputError } from '../../src/errors.ts'

function helpText(): string {
  let text = ''
  const command = mockCommand()
    .exitOverride()
    .configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) })
  try {
    command.parse(['--help'], { from: 'user' })
  } catch {}
  return text
}

describe('fluxperf mock flags', () => {
  it('shows every engine, cache and fault option with its default in --help', () => {
    const help = helpText()
    for (const expected of [
      '--host <host>',
      '(default: "127.0.0.1")',
      '--port <port>',
      '8001',
      '--model <id>',
      '"mock-llm"',
      '--prefill-tokens-per-s <rate>',
      '14000',
      '--itl-ms <ms>',
      '--itl-per-seq-ms <ms>',
      '--max-num-seqs <n>',
      '--no-prefix-cache',
      '--block-size <tokens>',
      '--cache-capacity-tokens <tokens>',
      '--error-rate <fraction>',
      '--rate-limit-rps <rate>',
      '--fault <directives>',
      '--seed <n>',
      '--jitter <fraction>',
      '--max-model-len <tokens>',
    ]) {
      expect(help).toContain(expected)
    }
  })

  it('turns flags into options', () => {
    expect(
      mockOptionsFromFlags({ host: '0.0.0.0', port: '9000', itlMs: '1.5', prefixCache: false, fault: 'no-done', model: 'm' }),
    ).toEqual({ host: '0.0.0.0', port: 9000, itlMs: 1.5, prefixCache: false, fault: 'no-done', model: 'm' })
  })

  it.each([
    [{ port: 'abc' }, '--port', /integer from 0 to 65535/],
    [{ port: '70000' }, '--port', /65535/],
    [{ prefillTokensPerS: '-1' }, '--prefill-tokens-per-s', /above 0/],
    [{ errorRate: '1.5' }, '--error-rate', /from 0 to 1/],
    [{ maxNumSeqs: '2.5' }, '--max-num-seqs', /integer/],
    [{ itlMs: '' }, '--itl-ms', /number/],
    [{ fault: 'explode' }, '--fault', /unknown fault/],
  ])('rejects %j with an InputError naming %s', (flags, flag, message) => {
    let error: unknown
    try {
      mockOptionsFromFlags(flags)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).where).toBe(flag)
    expect((error as Error).message).toMatch(message)
  })

  it('throws InputError from the command action for a bad value', async () => {
    await expect(mockCommand().exitOverride().parseAsync(['--port', 'abc'], { from: 'user' })).rejects.toBeInstanceOf(InputError)
  })

  it('serves until told to stop, printing the URL, then frees the port', async () => {
    let out = ''
    const stop = new AbortController()
    const serving = serveMock(mockOptionsFromFlags({ port: '0' }), { out: { write: (s: string) => (out += s) }, signal: stop.signal })
    await expect.poll(() => out).toContain('http://127.0.0.1:')
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out)![0]
    expect((await fetch(`${url}/health`)).status).toBe(200)
    stop.abort()
    const server = await serving
    expect(out).toMatch(/stopped/)
    await expect(fetch(`${server.url}/health`)).rejects.toThrow()
  })
})
