/**
 * First SIGINT/SIGTERM aborts the returned signal: the workload sends nothing new, in-flight requests
 * get a short grace (see `inFlightGraceMs`) and are then cut; reports are written for what completed.
 * A second signal exits at once.
 */
export function handleInterrupts(): { signal: AbortSignal; dispose(): void } {
  const stopSending = new AbortController()
  const onSignal = (name: NodeJS.Signals): void => {
    if (stopSending.signal.aborted) {
      process.stderr.write(`\nfluxperf: ${name} again, exiting now\n`)
      process.exit(130)
    }
    process.stderr.write(`\nfluxperf: ${name} received; no new requests, writing reports for what completed (again to quit now)\n`)
    stopSending.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: stopSending.signal,
    dispose() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

/**
 * Calls `onExit` once when this process's parent exits, seen as a change of `process.ppid` (an orphan is
 * re-parented to init or a subreaper), checked every `intervalMs` on a timer that keeps nothing alive.
 * `npx fluxperf mock &` then `kill $!` ends npm, which does not pass the signal on to node: without this
 * the server would go on holding its port. Does nothing in a process started with pid 1 as its parent (a
 * daemon, or the first process of a container), whose parent cannot go away.
 * @returns a function that stops watching
 */
export function onParentExit(onExit: () => void, intervalMs = 1000): () => void {
  const parent = process.ppid
  if (parent <= 1) return () => {}
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onExit()
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}
