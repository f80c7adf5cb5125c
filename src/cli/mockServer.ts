import { Option } from 'commander'
import { startMockServer } from '../mock/index.ts'
import type { MockServer, MockServerOptions } from '../mock/index.ts'
import { wholeNumber } from './flags.ts'

/** The `--mock-server`, `--mock-host`, `--mock-port` flags every workload command shares. */
export interface MockServerFlags {
  mockServer?: boolean
  mockHost: string
  mockPort: number
}

/** The three flags, defined once; add each with `.addOption(...)`. */
export function mockServerOptions(): [Option, Option, Option] {
  return [
    new Option('--mock-server', 'start the built-in mock serving engine and benchmark it'),
    new Option('--mock-host <host>', 'host of the built-in mock').default('127.0.0.1'),
    new Option('--mock-port <port>', 'port of the built-in mock (0: any free port)').argParser(wholeNumber(0)).default(0),
  ]
}

/** Starts the built-in mock when `--mock-server` was given (the caller closes it), and says where. */
export async function startFlaggedMock(flags: MockServerFlags, out: NodeJS.WritableStream, options: MockServerOptions = {}): Promise<MockServer | undefined> {
  if (!flags.mockServer) return undefined
  const mock = await startMockServer({ ...options, host: flags.mockHost, port: flags.mockPort })
  out.write(`Started the built-in mock at ${mock.url}${options.prefixCache === false ? ' (prefix cache off)' : ''}\n`)
  return mock
}
