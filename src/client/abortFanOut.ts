/**
 * One `abort` listener per signal, however many requests wait on it.
 *
 * Node's EventTarget walks a signal's listener list on every `addEventListener` (to refuse duplicates),
 * so 1,000 in-flight requests that each listened on the run's signal cost ~500,000 list steps per
 * round: 5–20 ms of the client's core while it dispatched them (cold code in the first round), time in
 * which answers that had already begun arriving waited to be stamped. A `Set` adds and removes in O(1).
 */

/** What the signal's abort reaches: `handleEvent` runs once, when the signal aborts. */
export interface AbortListener {
  handleEvent(): void
}

const listeners = new WeakMap<AbortSignal, Set<AbortListener>>()

/** Calls `listener.handleEvent()` when `signal` aborts (at once if it has), unless `stopListening` came first. */
export function listenForAbort(signal: AbortSignal, listener: AbortListener): void {
  if (signal.aborted) {
    listener.handleEvent()
    return
  }
  let set = listeners.get(signal)
  if (set === undefined) {
    const members = new Set<AbortListener>()
    signal.addEventListener('abort', () => {
      listeners.delete(signal)
      for (const member of members) {
        // Each listener runs whatever the others do, as EventTarget's would; an error still surfaces.
        try {
          member.handleEvent()
        } catch (error) {
          queueMicrotask(() => {
            throw error
          })
        }
      }
    }, { once: true })
    listeners.set(signal, members)
    set = members
  }
  set.add(listener)
}

/** Forgets `listener` (a request that settled). */
export function stopListening(signal: AbortSignal, listener: AbortListener): void {
  listeners.get(signal)?.delete(listener)
}

/** Waits `ms`, or less when `signal` aborts (it resolves at once if the signal has aborted); never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const wake = {
      handleEvent(): void {
        clearTimeout(timer)
        resolve()
      },
    }
    const timer = setTimeout(() => {
      if (signal) stopListening(signal, wake)
      resolve()
    }, ms)
    if (signal) listenForAbort(signal, wake)
  })
}
