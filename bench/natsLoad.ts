import type { NatsConnection } from "@nats-io/transport-node"

export interface LoadResult {
  readonly perSecond: number
  readonly count: number
  readonly failed: number
  readonly p50Ms: number
  readonly p99Ms: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

/**
 * `senders` concurrent request loops against one subject, bounded by `maxCount` requests in all and by
 * `maxMillis`; `body(i)` makes the i-th request. Reports throughput and the latency percentiles.
 */
export const requestLoad = async (
  nc: NatsConnection,
  options: {
    readonly subject: (i: number) => string
    readonly body: (i: number) => Uint8Array
    readonly senders: number
    readonly maxCount: number
    readonly maxMillis: number
    readonly ok?: (reply: Uint8Array) => boolean
  }
): Promise<LoadResult> => {
  const latencies: Array<number> = []
  let next = 0
  let failed = 0
  const started = performance.now()
  const deadline = started + options.maxMillis
  const sender = async () => {
    while (next < options.maxCount && performance.now() < deadline) {
      const i = next++
      const sent = performance.now()
      try {
        const reply = await nc.request(options.subject(i), options.body(i), { timeout: 10_000 })
        if (options.ok !== undefined && !options.ok(reply.data)) failed++
        latencies.push(performance.now() - sent)
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: options.senders }, sender))
  const elapsed = performance.now() - started
  latencies.sort((a, b) => a - b)
  return {
    perSecond: (latencies.length * 1000) / elapsed,
    count: latencies.length,
    failed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99)
  }
}
