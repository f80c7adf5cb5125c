import { Command, InvalidArgumentError, Option } from 'commander'
import { ENGINES } from '../engines/index.ts'
import type { EngineName } from '../engines/index.ts'
import { connectionCap } from '../workloads/index.ts'
import type { EndpointSettings } from '../workloads/index.ts'
import { finiteNumber } from './flags.ts'

/** How a command reaches its server: the flags every command shares, as commander hands them over. */
export interface ConnectionFlags {
  keepAlive: boolean
  keepAliveTimeout?: number
  proxy?: string | false
  caFile?: string
  insecure?: boolean
  engine: EngineName | 'auto'
  resetCache?: boolean
}

/**
 * Adds the endpoint flags (keep-alive, proxy, TLS, engine and its cache reset) to a command, once for
 * every command, so each behaves the same against real servers (README: "Real servers").
 */
export function addConnectionOptions(command: Command): Command {
  return command
    .option('--no-keep-alive', 'open a new connection for every request')
    .option('--keep-alive-timeout <seconds>', "longest idle time before a connection is reused (a server's shorter Keep-Alive hint wins) (default: 4)", finiteNumber(0))
    .option('--proxy <url>', "forward proxy for every request, e.g. http://proxy:3128; 'none' ignores HTTP_PROXY/HTTPS_PROXY (which apply by default, with NO_PROXY)", proxyFlag)
    .option('--ca-file <pem>', 'certificate authorities to trust for https:// (PEM), e.g. a self-signed server\'s certificate')
    .option('--insecure', 'accept any TLS certificate (self-signed, expired, wrong host)')
    .addOption(new Option('--engine <name>', 'the serving engine, for cache resets and slot checks (auto: from /v1/models, the Server header or /metrics)').choices(['auto', ...Object.keys(ENGINES)]).default('auto'))
    .option('--reset-cache', "empty the server's prefix cache before each cold round, the engine's way (vLLM /reset_prefix_cache, SGLang /flush_cache, llama.cpp every slot)")
}

/** The connection flags as workload settings; `inProcessMock` when the command runs the built-in mock itself. */
export function connectionSettings(flags: ConnectionFlags, inProcessMock: boolean): Pick<EndpointSettings, 'keepAlive' | 'keepAliveTimeout' | 'proxy' | 'caFile' | 'insecure' | 'engine' | 'resetCache' | 'maxConnections'> {
  return {
    // The built-in mock runs in this process: its accepted sockets count against the same open-file limit.
    maxConnections: inProcessMock ? Math.max(1, Math.floor(connectionCap() / 2)) : undefined,
    engine: flags.engine,
    resetCache: flags.resetCache,
    keepAlive: flags.keepAlive,
    keepAliveTimeout: flags.keepAliveTimeout,
    proxy: flags.proxy,
    caFile: flags.caFile,
    insecure: flags.insecure,
  }
}

function proxyFlag(value: string): string | false {
  if (value === 'none') return false
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidArgumentError(`expected a proxy URL such as http://proxy:3128, or none, got "${value.replace(/\/\/[^@/]*@/, '//[redacted]@')}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`expected an http:// or https:// proxy URL, got ${url.protocol}`)
  return value
}
