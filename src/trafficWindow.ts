import { latencyBucketsMs, type UpstreamMetrics } from "./trafficRouter.ts"

/** What one upstream served between two snapshots of its metrics: the figures of a launch's health gates. */
export interface TrafficWindow {
  readonly requests: number
  readonly errors: number
  /** errors / requests; 0 when the window holds no request. */
  readonly errorRate: number
  /** The upper bound of the latency bucket where the median falls; 0 when the window holds no request. */
  readonly p50Ms: number
  /** As `p50Ms`, for the 99th percentile. */
  readonly p99Ms: number
}

/**
 * Latencies above the last bound report that bound (10 s): "at least this slow", finite so that it fails
 * any gate below it and still encodes as a JSON number.
 */
const slowestBoundMs = latencyBucketsMs.at(-1) ?? 0

/** Nearest rank: the bucket holding the ⌈q·n⌉-th fastest request. */
const percentileMs = (counts: ReadonlyArray<number>, total: number, q: number): number => {
  if (total === 0) return 0
  const rank = Math.max(1, Math.ceil(q * total))
  let seen = 0
  for (let bucket = 0; bucket < counts.length; bucket++) {
    seen += counts[bucket]!
    if (seen >= rank) return latencyBucketsMs[bucket] ?? slowestBoundMs
  }
  return slowestBoundMs
}

/**
 * The figures of the time between two snapshots of one upstream (`before` undefined: since the route first
 * named it). A `before` that cannot precede `after` (another upstream, or counters that went back because
 * the route dropped the upstream and named it again) counts as undefined.
 */
export const windowOf = (before: UpstreamMetrics | undefined, after: UpstreamMetrics): TrafficWindow => {
  const base = before !== undefined && before.id === after.id && before.requests <= after.requests && before.errors <= after.errors
    ? before
    : undefined
  const counts = after.latencyBuckets.map((count, bucket) => count - (base?.latencyBuckets[bucket] ?? 0))
  const total = counts.reduce((sum, count) => sum + count, 0)
  const requests = after.requests - (base?.requests ?? 0)
  const errors = after.errors - (base?.errors ?? 0)
  return {
    requests,
    errors,
    errorRate: requests === 0 ? 0 : errors / requests,
    p50Ms: percentileMs(counts, total, 0.5),
    p99Ms: percentileMs(counts, total, 0.99)
  }
}
