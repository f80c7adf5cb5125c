/** CLI exit codes (k6's convention for thresholds). */
export const EXIT = {
  ok: 0,
  /** The run failed: a failed request beyond --max-error-rate, a cold round not cold or not verified, or fluxperf's own error (see `commonVerdict`). */
  failed: 1,
  /** Usage, configuration or input error. */
  usage: 2,
  /** An SLO / threshold was given and missed. */
  sloMissed: 99,
  /** Interrupted by SIGINT/SIGTERM; reports for what completed were written. */
  interrupted: 130,
} as const
