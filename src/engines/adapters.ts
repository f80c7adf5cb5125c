import { httpText } from '../client/index.ts'
import type { Endpoint } from '../client/index.ts'
import { printable } from '../printable.ts'
import type { CacheResetOutcome } from '../types.ts'

/** The serving engines fluxperf knows. `mock` is fluxperf's own. */
export type EngineName = 'vllm' | 'sglang' | 'llamacpp' | 'tgi' | 'ollama' | 'mock'

/** What fluxperf knows of one serving engine: how to empty its prefix cache, and how many prompts it keeps. */
export interface EngineAdapter {
  readonly name: EngineName
  /** As people write it: `vLLM`, `llama.cpp`. */
  readonly title: string
  /** Empties the prefix cache; never throws (the outcome says what the server answered). */
  resetCache(endpoint: Endpoint): Promise<CacheResetOutcome>
  /**
   * How many distinct prompts the cache keeps at once, when the engine has such a limit (llama.cpp keeps
   * one prompt per slot); undefined when unlimited or unknown.
   */
  promptCapacity?(endpoint: Endpoint): Promise<number | undefined>
}

/**
 * The server's root path (what precedes `/v1`), so engine routes such as `/slots` or `/reset_prefix_cache`
 * are found behind a path prefix too.
 */
export function rootPath(endpoint: Endpoint): string {
  return endpoint.path.replace(/\?.*$/, '').replace(/\/v1\/.*$|\/(chat\/)?completions\/?$/, '').replace(/\/+$/, '')
}

/** One POST to an engine's reset route, with the server's own words when it refuses. */
async function postReset(endpoint: Endpoint, route: string, refusedHint: string): Promise<CacheResetOutcome> {
  const url = `${endpoint.origin}${rootPath(endpoint)}${route}`
  try {
    const answer = await httpText(endpoint, 'POST', `${rootPath(endpoint)}${route}`)
    if (answer.status >= 200 && answer.status < 300) return { attempted: true, ok: true, url }
    return { attempted: true, ok: false, url, message: `HTTP ${answer.status}${serverWords(answer.body)}; ${refusedHint}` }
  } catch (error) {
    return { attempted: true, ok: false, url, message: (error as Error).message }
  }
}

/** A server's error body in a few words: JSON `error.message` / `message` / `detail`, else the text. */
function serverWords(body: string): string {
  let text = body
  try {
    const json = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown }
    const message = typeof json.error === 'object' ? json.error?.message : json.error ?? json.message ?? json.detail
    if (typeof message === 'string') text = message
  } catch {
    // not JSON: the text as it is
  }
  const words = printable(text.replace(/\s+/g, ' ').trim().slice(0, 200))
  return words ? ` ("${words}")` : ''
}

function unsupported(title: string, why: string): (endpoint: Endpoint) => Promise<CacheResetOutcome> {
  return async () => ({ attempted: true, ok: false, message: `${title} has no API to empty its prefix cache (${why}); restart the server before the run, or use prompts it has not seen` })
}

const vllm: EngineAdapter = {
  name: 'vllm',
  title: 'vLLM',
  resetCache: (endpoint) => postReset(endpoint, '/reset_prefix_cache', 'vLLM serves /reset_prefix_cache only when started with VLLM_SERVER_DEV_MODE=1'),
}

const sglang: EngineAdapter = {
  name: 'sglang',
  title: 'SGLang',
  resetCache: (endpoint) => postReset(endpoint, '/flush_cache', 'SGLang flushes only when no request is running'),
}

/** llama.cpp's `GET /slots`: one entry per slot, each keeping one prompt's KV cache. */
async function llamaSlots(endpoint: Endpoint): Promise<{ ids: number[] } | { error: string }> {
  try {
    const answer = await httpText(endpoint, 'GET', `${rootPath(endpoint)}/slots`)
    if (answer.status !== 200) return { error: `GET /slots answered HTTP ${answer.status}${serverWords(answer.body)} (llama-server needs --slots for it)` }
    const slots = JSON.parse(answer.body) as { id?: unknown }[]
    if (!Array.isArray(slots)) return { error: 'GET /slots did not answer a list' }
    return { ids: slots.map((s, i) => (typeof s.id === 'number' ? s.id : i)) }
  } catch (error) {
    return { error: `GET /slots failed (${(error as Error).message})` }
  }
}

const llamacpp: EngineAdapter = {
  name: 'llamacpp',
  title: 'llama.cpp',
  async resetCache(endpoint) {
    const url = `${endpoint.origin}${rootPath(endpoint)}/slots/<id>?action=erase`
    const slots = await llamaSlots(endpoint)
    if ('error' in slots) return { attempted: true, ok: false, url, message: slots.error }
    // Every slot keeps its own prompt: each is erased, one after another.
    for (const id of slots.ids) {
      const outcome = await postReset(endpoint, `/slots/${id}?action=erase`, 'llama-server erases slots only when started with --slot-save-path <dir>')
      if (!outcome.ok) return { ...outcome, url }
    }
    return { attempted: true, ok: true, url }
  },
  async promptCapacity(endpoint) {
    const slots = await llamaSlots(endpoint)
    return 'ids' in slots ? slots.ids.length : undefined
  },
}

const tgi: EngineAdapter = {
  name: 'tgi',
  title: 'TGI',
  resetCache: unsupported('TGI', 'its prefix cache is internal'),
}

const ollama: EngineAdapter = {
  name: 'ollama',
  title: 'Ollama',
  resetCache: unsupported('Ollama', 'it keeps the last prompt per loaded model'),
}

const mock: EngineAdapter = {
  name: 'mock',
  title: 'the fluxperf mock',
  resetCache: (endpoint) => postReset(endpoint, '/reset_prefix_cache', 'is it an older fluxperf mock?'),
}

/** Every adapter by name. */
export const ENGINES: Readonly<Record<EngineName, EngineAdapter>> = { vllm, sglang, llamacpp, tgi, ollama, mock }

/** True for a known engine name (for `--engine`). */
export function isEngineName(name: string): name is EngineName {
  return Object.hasOwn(ENGINES, name)
}
