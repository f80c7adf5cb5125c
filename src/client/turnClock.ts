/**
 * The receive clock: when did the bytes handed to a data callback reach this process?
 *
 * Node cannot see the kernel's arrival time of a packet, only the moment JavaScript runs for it. When
 * many streams' chunks arrive together, libuv gets them from one poll of the sockets and then runs one
 * data callback after another; stamping each with `performance.now()` would make the last callback of
 * a burst of 1,000 late by the whole burst's processing time (about 5 µs per callback here), and by a
 * different amount in each burst, which shows up as ITL error.
 *
 * Every byte handled in one event-loop iteration was already in the kernel when that iteration's poll
 * returned, which is just before its first callback ran. So all data callbacks of an iteration share
 * one stamp: the time of the first. It is never earlier than the bytes' arrival (they were waiting
 * when the poll returned) and it no longer depends on a callback's position in the burst.
 *
 * The iteration is libuv's own loop counter (`performance.nodeTiming.uvMetricsInfo.loopCount`, counted
 * just before each poll). An earlier version ended the turn with a `setImmediate` per iteration:
 * about 480 bytes of garbage each, at 1,000 streams 19 MB per 64-token run, which made the young
 * generation collect (3–7 ms pauses, seen as ITL error) several times while tokens streamed; reading
 * the counter costs about 120 bytes and 0.2 µs per call.
 *
 * Limits, both bounded by the time spent on the callbacks before: a socket that was ready when the
 * poll returned is read when its turn in the burst comes, so bytes that reached it in between share
 * the earlier stamp; and libuv takes at most 1,024 ready sockets per poll, so above 1,024 simultaneous
 * streams a second poll in the same iteration can receive bytes that arrived after the shared stamp.
 */
const nodeTiming = performance.nodeTiming
let stampedLoop = -1
let stamp = 0

/** performance.now() at the first call in the current event-loop iteration. */
export function turnTime(): number {
  const loop = nodeTiming.uvMetricsInfo.loopCount
  if (loop !== stampedLoop) {
    stampedLoop = loop
    stamp = performance.now()
  }
  return stamp
}
