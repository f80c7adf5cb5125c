import { httpText, listModels } from '../client/index.ts'
import type { Endpoint } from '../client/index.ts'
import { ENGINES, rootPath } from './adapters.ts'
import type { EngineName } from './adapters.ts'

/** Which engine serves an endpoint, and what said so. */
export interface DetectedEngine {
  name: EngineName
  /** E.g. `owned_by "vllm" in /v1/models`, `Server: llama.cpp`, `--engine`. */
  evidence: string
}

/** `owned_by` of `/v1/models` as each engine writes it. */
const OWNED_BY: Record<string, EngineName> = { vllm: 'vllm', sglang: 'sglang', llamacpp: 'llamacpp', fluxperf: 'mock', library: 'ollama', ollama: 'ollama' }
/** Metric-name prefixes of each engine's `/metrics`. */
const METRIC_PREFIXES: [RegExp, EngineName][] = [[/^vllm:/m, 'vllm'], [/^sglang:/m, 'sglang'], [/^llamacpp:/m, 'llamacpp'], [/^tgi_/m, 'tgi']]

/**
 * Finds the engine behind an endpoint from what it says of itself: `owned_by` in `/v1/models`, a
 * `Server` header, the names in `/metrics`, then TGI's `/info` and Ollama's `/api/version`. Undefined
 * when nothing matches (an unknown server, or a proxy in front that hides it).
 */
export async function detectEngine(endpoint: Endpoint): Promise<DetectedEngine | undefined> {
  const models = await listModels(endpoint)
  for (const model of models?.data ?? []) {
    const owner = typeof model.owned_by === 'string' ? model.owned_by.toLowerCase() : ''
    const name = OWNED_BY[owner]
    if (name) return { name, evidence: `owned_by "${owner}" in /v1/models` }
  }
  const server = String(models?.headers['server'] ?? '').toLowerCase()
  if (server.includes('llama.cpp')) return { name: 'llamacpp', evidence: 'Server: llama.cpp' }
  const root = rootPath(endpoint)
  const metrics = await probe(endpoint, `${root}/metrics`)
  for (const [prefix, name] of METRIC_PREFIXES) if (metrics !== undefined && prefix.test(metrics)) return { name, evidence: `${ENGINES[name].title} metric names in /metrics` }
  const info = await probe(endpoint, `${root}/info`)
  if (info !== undefined && /text-generation-router|"router"/.test(info)) return { name: 'tgi', evidence: 'TGI /info' }
  const version = await probe(endpoint, `${root}/api/version`)
  if (version !== undefined && /^\s*\{\s*"version"/.test(version)) return { name: 'ollama', evidence: 'Ollama /api/version' }
  return undefined
}

/** A GET's body when it answered 200, else undefined. */
async function probe(endpoint: Endpoint, path: string): Promise<string | undefined> {
  try {
    const answer = await httpText(endpoint, 'GET', path, 2_000)
    return answer.status === 200 ? answer.body : undefined
  } catch {
    return undefined
  }
}
