import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * A full, synchronous garbage collection, for the moment just before a run's clock starts.
 *
 * Why: what a run does before its first request (loading the o200k tokenizer builds ~50 MB of
 * temporary strings) leaves V8 with an old generation past its limit, and V8 finishes that
 * collection when it gets round to it. Through `fluxperf run` at 1,000
 * streams it finished 160 ms into the first round with a 95 ms pause (`--trace-gc`: Mark-Compact
 * 147 → 96 MB), just before the first tokens; a few milliseconds later every stream's chunk would
 * have been stamped up to 95 ms late. Collected here, that pause happens before anything is timed.
 *
 * How: V8's `gc` function, exposed in a context of its own so the program gets no `gc` global.
 * Returns false (and does nothing) where the runtime refuses.
 */
export function collectGarbageNow(): boolean {
  const gc = v8Gc()
  gc?.()
  return gc !== undefined
}

/**
 * Two young-generation collections, which move every object alive now to the old generation: for
 * the moment just after a burst of requests has been sent, while their first tokens are still
 * awaited.
 *
 * Why: a request's state (exchange, parser, arrays sized for its chunks, the workload's frames) is
 * made when it is sent and lives until it ends. Young, it is copied by every young-generation
 * collection while tokens stream: at 1,000 streams started together, the one that came mid-stream
 * paused the loop 2–4 ms and every chunk arriving meanwhile was stamped late. Promoted right after the
 * sends (3–4 ms at 1,000 streams, before the first token can arrive from any real server), the
 * collections during the streams copy almost nothing: 0.7–1.0 ms (sendRequest at 1,000 streams,
 * three runs).
 */
export function promoteYoungObjects(): boolean {
  const gc = v8Gc()
  gc?.({ type: 'minor' })
  gc?.({ type: 'minor' })
  return gc !== undefined
}

type GcFunction = (options?: { type: 'minor' | 'major' }) => void
let exposed: GcFunction | null | undefined

/** V8's gc function, looked up once; undefined where the runtime refuses. */
function v8Gc(): GcFunction | undefined {
  if (exposed === undefined) {
    try {
      setFlagsFromString('--expose-gc')
      const gc: unknown = runInNewContext('gc')
      exposed = typeof gc === 'function' ? (gc as GcFunction) : null
    } catch {
      exposed = null
    }
  }
  return exposed ?? undefined
}
