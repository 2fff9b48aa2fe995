import { appendBounded } from "../boundedWindow.ts"

/**
 * Heartbeat round trips as the agent measured them (`rttMs`, by its own monotonic clock), kept per instance
 * over a window of the latest ones, newest last: no two clocks are compared anywhere.
 */

/** How many round trips a window keeps: about a minute of heartbeats at the default interval. */
export const latencyWindowSize = 64

/** The window with one more round trip, the oldest dropped past `size`. */
export const recordRtt = (window: ReadonlyArray<number>, rttMs: number, size: number = latencyWindowSize): ReadonlyArray<number> =>
  appendBounded(window, rttMs, size)

/** The nearest-rank percentile (`q` in 0–1) of the samples; undefined when there are none. */
export const percentile = (samples: ReadonlyArray<number>, q: number): number | undefined => {
  if (samples.length === 0) return undefined
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

export interface LatencySummary {
  readonly lastMs: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly samples: number
}

/** Last, p50 and p99 of a window; undefined while it is empty (an agent that does not measure). */
export const summarizeLatency = (window: ReadonlyArray<number>): LatencySummary | undefined => {
  const lastMs = window.at(-1)
  const p50Ms = percentile(window, 0.5)
  const p99Ms = percentile(window, 0.99)
  return lastMs === undefined || p50Ms === undefined || p99Ms === undefined ? undefined : { lastMs, p50Ms, p99Ms, samples: window.length }
}

/** When round trips have risen for long enough to say so. */
export interface LatencyRisePolicy {
  /** The latest round trips judged together: one slow beat is noise, this many in a row are not. */
  readonly recent: number
  /** How many times the earlier p50 the recent p50 must exceed. */
  readonly factor: number
  /** And by at least this much: doubling 0.3 ms on a local network means nothing. */
  readonly minRiseMs: number
}

export const defaultLatencyRisePolicy: LatencyRisePolicy = { recent: 8, factor: 3, minRiseMs: 20 }

export interface LatencyRise {
  readonly recentP50Ms: number
  readonly earlierP50Ms: number
}

/**
 * A sustained rise: the p50 of the `recent` latest round trips against the p50 of the earlier ones in the
 * window (at least as many). Undefined while there is no rise, or too few round trips to compare.
 */
export const latencyRise = (window: ReadonlyArray<number>, policy: LatencyRisePolicy = defaultLatencyRisePolicy): LatencyRise | undefined => {
  if (window.length < 2 * policy.recent) return undefined
  const recentP50Ms = percentile(window.slice(-policy.recent), 0.5)!
  const earlierP50Ms = percentile(window.slice(0, -policy.recent), 0.5)!
  return recentP50Ms > policy.factor * earlierP50Ms && recentP50Ms - earlierP50Ms >= policy.minRiseMs
    ? { recentP50Ms, earlierP50Ms }
    : undefined
}
