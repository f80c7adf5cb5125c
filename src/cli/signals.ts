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
