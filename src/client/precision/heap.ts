import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { exposeGcFlags } from './v8Flags.ts'

/**
 * Collections precision mode forces at moments it chooses, so that V8 does not choose a measured one.
 * Why each: docs/design/precision.md ("No collection inside the run").
 */

/**
 * A full, synchronous collection: what a run does first (loading the tokenizer builds ~50 MB of
 * temporary strings) leaves an old generation past its limit, whose collection otherwise lands in the
 * first round (a 95 ms pause at 1,000 streams). Precision mode runs it before its warm-up, which then
 * leaves V8 time to finish sweeping. Returns false (and does nothing) where the runtime refuses.
 */
export function collectGarbageNow(): boolean {
  const gc = v8Gc()
  gc?.()
  heapAfterCollection = process.memoryUsage().heapUsed
  return gc !== undefined
}

/** Heap growth since the last collectGarbageNow() past which collectGarbageIfGrown() collects, bytes. */
export const GARBAGE_WORTH_COLLECTING = 32 * 1024 * 1024
let heapAfterCollection = 0

/**
 * A full collection, only if the heap has grown by GARBAGE_WORTH_COLLECTING since the last one: for the
 * moment just before the clock starts, when something made since (a dataset, a previous phase) may have
 * left a pile of garbage. After the warm-up alone it does nothing: a full collection there, right before
 * the clock, left sweeping and a lowered heap limit to the measured run (more major collections, client
 * CPU per chunk up by half in `clientBench.ts chunks`). Returns whether it collected.
 */
export function collectGarbageIfGrown(): boolean {
  if (process.memoryUsage().heapUsed - heapAfterCollection < GARBAGE_WORTH_COLLECTING) return false
  return collectGarbageNow()
}

/**
 * Two young-generation collections, which promote everything alive now: for the moment right after a
 * burst of sends, so the requests' state is not copied by every scavenge while tokens stream (2–4 ms
 * pauses at 1,000 streams, 0.7–1.0 ms once promoted). Returns false where the runtime refuses.
 */
export function promoteYoungObjects(): boolean {
  const gc = v8Gc()
  gc?.({ type: 'minor' })
  gc?.({ type: 'minor' })
  return gc !== undefined
}

type GcFunction = (options?: { type: 'minor' | 'major' }) => void
let exposed: GcFunction | null | undefined

/**
 * V8's gc function, looked up once: `--expose-gc` set only while a context of its own is made to fetch
 * it, then unset (v8Flags.ts), so the program and later contexts get no `gc` global. Undefined where the
 * runtime refuses.
 */
export function v8Gc(): GcFunction | undefined {
  if (exposed === undefined) {
    const flags = exposeGcFlags(process.execArgv, process.env['NODE_OPTIONS'])
    try {
      if (flags) setFlagsFromString(flags.set)
      const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined')
      exposed = typeof gc === 'function' ? (gc as GcFunction) : null
    } catch {
      exposed = null
    } finally {
      if (flags) setFlagsFromString(flags.restore)
    }
  }
  return exposed ?? undefined
}
