/** Types of `parse-prometheus-text-format` 1.1.x (the package ships none). */
declare module 'parse-prometheus-text-format' {
  export interface ParsedSample {
    value?: string
    labels?: Record<string, string>
    timestamp_ms?: string
    buckets?: Record<string, string>
    quantiles?: Record<string, string>
    count?: string
    sum?: string
  }
  export interface ParsedFamily {
    name: string
    help: string
    /** Upper case: COUNTER, GAUGE, HISTOGRAM, SUMMARY, UNTYPED. */
    type: string
    metrics: ParsedSample[]
  }
  /** Throws `InvalidLineError` ("Encountered invalid line: ...") on a malformed line. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[]
}
