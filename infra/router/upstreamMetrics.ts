import { latencyBucketsMs, type UpstreamMetrics } from "../../src/trafficRouter.ts"

/** The live counters of one upstream, changed on the request path and copied out by `snapshotOf`. */
export interface UpstreamCounters {
  requests: number
  errors: number
  inFlight: number
  readonly latencyBuckets: Array<number>
}

export const makeCounters = (): UpstreamCounters => ({
  requests: 0,
  errors: 0,
  inFlight: 0,
  latencyBuckets: Array.from({ length: latencyBucketsMs.length + 1 }, () => 0)
})

/** The first bucket whose upper bound the latency does not exceed; the last (overflow) bucket otherwise. */
export const bucketOf = (ms: number): number => {
  let low = 0
  let high = latencyBucketsMs.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (ms <= latencyBucketsMs[middle]!) high = middle
    else low = middle + 1
  }
  return low
}

export const recordStarted = (counters: UpstreamCounters): void => {
  counters.inFlight++
}

/**
 * A request counts once finished, in one step (request, error and bucket together), so two snapshots always
 * subtract into a consistent window.
 */
export const recordFinished = (counters: UpstreamCounters, latencyMs: number, failed: boolean): void => {
  counters.inFlight--
  counters.requests++
  if (failed) counters.errors++
  const bucket = bucketOf(latencyMs)
  counters.latencyBuckets[bucket] = counters.latencyBuckets[bucket]! + 1
}

export const snapshotOf = (id: string, counters: UpstreamCounters): UpstreamMetrics => ({
  id,
  requests: counters.requests,
  errors: counters.errors,
  inFlight: counters.inFlight,
  latencyBuckets: [...counters.latencyBuckets]
})
