/**
 * One `abort` listener per signal, however many requests wait on it.
 *
 * Node's EventTarget walks a signal's listener list on every `addEventListener` (to refuse duplicates),
 * so 1,000 in-flight requests that each listened on the run's signal cost ~500,000 list steps per
 * round: 5–20 ms of the client's core while it dispatched them (cold code in the first round), time in
 * which answers that had already begun arriving waited to be stamped. The requests waiting on a signal
 * are a doubly linked list: O(1) to join and to leave, and one who left is referenced by nobody. A `Set`
 * did that too, but V8 keeps a deleted entry's object until the table is next rebuilt: at 25,000 requests
 * a second every request outlived two young collections and was copied to the old generation, a major
 * collection a second (docs/performance.md, "Requests that outlived their end").
 */

/** What the signal's abort reaches: `handleEvent` runs once, when the signal aborts. */
export interface AbortListener {
  handleEvent(): void
}

/** A listener's place on its signal's list, for `stopListening`. */
export interface AbortSubscription {
  readonly listener: AbortListener | null
}

/** One place on the list; `listener` is null once it left. */
interface Link extends AbortSubscription {
  listener: AbortListener | null
  prev: Link | null
  next: Link | null
  list: Members | null
}

/** The listeners waiting on one signal, oldest first. */
interface Members {
  head: Link | null
  tail: Link | null
}

const lists = new WeakMap<AbortSignal, Members>()

/** Listening on a signal that has already aborted: the listener was called at once, there is nothing to stop. */
const CALLED: AbortSubscription = Object.freeze({ listener: null })

/**
 * Calls `listener.handleEvent()` when `signal` aborts (at once if it has), unless `stopListening` came
 * first with what this returns.
 */
export function listenForAbort(signal: AbortSignal, listener: AbortListener): AbortSubscription {
  if (signal.aborted) {
    listener.handleEvent()
    return CALLED
  }
  let members = lists.get(signal)
  if (members === undefined) {
    const list: Members = { head: null, tail: null }
    signal.addEventListener('abort', () => {
      lists.delete(signal)
      // Those waiting when the abort came, in the order they came; one that leaves meanwhile is skipped.
      const waiting: Link[] = []
      for (let link = list.head; link !== null; link = link.next) waiting.push(link)
      for (const link of waiting) {
        const member = link.listener
        if (member === null) continue
        leave(link)
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
    lists.set(signal, list)
    members = list
  }
  const link: Link = { listener, prev: members.tail, next: null, list: members }
  if (members.tail === null) members.head = link
  else members.tail.next = link
  members.tail = link
  return link
}

/** Forgets the listener `subscription` was given for (a request that settled); again, it does nothing. */
export function stopListening(subscription: AbortSubscription): void {
  leave(subscription as Link)
}

function leave(link: Link): void {
  const list = link.list
  if (!list) return
  if (link.prev === null) list.head = link.next
  else link.prev.next = link.next
  if (link.next === null) list.tail = link.prev
  else link.next.prev = link.prev
  link.prev = link.next = link.list = link.listener = null
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
      if (subscription) stopListening(subscription)
      resolve()
    }, ms)
    const subscription = signal ? listenForAbort(signal, wake) : undefined
  })
}
