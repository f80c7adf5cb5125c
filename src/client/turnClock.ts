/**
 * The receive clock: when did the bytes handed to a data callback reach this process?
 *
 * Node cannot see the kernel's arrival time of a packet, only the moment JavaScript runs for it. When
 * many streams' chunks arrive together, libuv gets them from one poll of the sockets and then runs one
 * data callback after another; stamping each with `performance.now()` would make the last callback of
 * a burst of 1,000 late by the whole burst's processing time (about 20 µs per callback here), and by a
 * different amount in each burst, which shows up as ITL error.
 *
 * Every byte handled in one event-loop turn was already in the kernel when that turn's poll returned,
 * which is just before its first callback ran. So all data callbacks of a turn share one stamp: the
 * time of the first. It is never earlier than the bytes' arrival (they were waiting when the poll
 * returned) and it no longer depends on a callback's position in the burst. The stamp is cleared in the
 * check phase (setImmediate), which runs after the poll phase of every loop iteration.
 *
 * Limits: a callback run outside the poll phase (a timer, a promise job) starts a turn of its own,
 * which is still at or after arrival; libuv reads at most 1,024 ready sockets per poll, so above
 * 1,024 simultaneous streams a second poll in the same turn can receive bytes that arrived after the
 * shared stamp (by at most the time spent on the first 1,024).
 */
let turnStartedAt: number | undefined

function endTurn(): void {
  turnStartedAt = undefined
}

/** performance.now() at the first call in the current event-loop turn. */
export function turnTime(): number {
  if (turnStartedAt === undefined) {
    turnStartedAt = performance.now()
    setImmediate(endTurn)
  }
  return turnStartedAt
}
