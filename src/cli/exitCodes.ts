/** CLI exit codes (k6's convention for thresholds). */
export const EXIT = {
  ok: 0,
  /** The run itself failed, e.g. every request failed. */
  failed: 1,
  /** Usage, configuration or input error. */
  usage: 2,
  /** An SLO / threshold was given and missed. */
  sloMissed: 99,
  /** Interrupted by SIGINT/SIGTERM; reports for what completed were written. */
  interrupted: 130,
} as const
