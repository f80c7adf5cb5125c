/**
 * Work deferred to the end of the current event-loop turn, in one batch for all requests.
 *
 * When many streams' chunks arrive together, the I/O callbacks of one loop iteration should only take
 * timestamps; parsing them there would delay the timestamps of every later callback in the burst.
 * Parsing runs right after (setImmediate's check phase), so memory stays bounded to one turn's bytes.
 */
const queue: (() => void)[] = []
let scheduled = false

function drain(): void {
  scheduled = false
  // Jobs queued while draining run in this same pass.
  for (let i = 0; i < queue.length; i++) (queue[i] as () => void)()
  queue.length = 0
}

export function deferToEndOfTurn(job: () => void): void {
  queue.push(job)
  if (!scheduled) {
    scheduled = true
    setImmediate(drain)
  }
}
