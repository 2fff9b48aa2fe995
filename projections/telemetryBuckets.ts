import type { TelemetrySample } from "../domain/signals.ts"
import type { TenantKey } from "../domain/tenantKey.ts"

/** The bucket sizes of the telemetry read model, and how many buckets of each a series keeps. */
export const bucketSizes = {
  "1m": { ms: 60_000, keep: 24 * 60 },
  "5m": { ms: 300_000, keep: 35 * 24 * 12 }
} as const
export type BucketSize = keyof typeof bucketSizes

export type Scope = "instance" | "client"

export interface BucketKey {
  readonly scope: Scope
  readonly key: string
  readonly metric: string
  readonly size: BucketSize
  /** Epoch milliseconds of the bucket's start. */
  readonly start: number
}

export interface Bucket extends BucketKey {
  readonly count: number
  readonly sum: number
  readonly max: number
  /** The values seen, up to `valuesKept`, for the 95th percentile. */
  readonly values: ReadonlyArray<number>
}

export interface BucketSummary {
  readonly start: number
  readonly count: number
  readonly mean: number
  readonly max: number
  readonly p95: number
}

/** Enough for a sample every second in a 5-minute bucket; past that the percentile uses the first ones. */
export const valuesKept = 300

export const keyString = (key: BucketKey) => `${key.scope}\u0000${key.key}\u0000${key.metric}\u0000${key.size}\u0000${key.start}`

/** Every numeric quantity a sample carries: CPU cores, memory bytes, and what the workload reports. */
export const metricsOf = (sample: TelemetrySample): ReadonlyArray<readonly [string, number]> => [
  ["cpu", sample.cpu],
  ["memBytes", sample.memBytes],
  ...Object.entries(sample.metrics ?? {}).filter(([, value]) => Number.isFinite(value))
]

/** The buckets one value lands in: per instance, per client when there is one, each size. */
export const keysOf = (input: SampleInput, metric: string, atMs: number): ReadonlyArray<BucketKey> => {
  const scopes: Array<readonly [Scope, string]> = [["instance", input.instanceKey]]
  if (input.clientKey !== undefined) scopes.push(["client", input.clientKey])
  return scopes.flatMap(([scope, key]) =>
    (Object.keys(bucketSizes) as Array<BucketSize>).map((size) => ({
      scope,
      key,
      metric,
      size,
      start: atMs - (atMs % bucketSizes[size].ms)
    }))
  )
}

export const addValue = (bucket: Bucket | undefined, key: BucketKey, value: number): Bucket =>
  bucket === undefined
    ? { ...key, count: 1, sum: value, max: value, values: [value] }
    : {
        ...bucket,
        count: bucket.count + 1,
        sum: bucket.sum + value,
        max: Math.max(bucket.max, value),
        values: bucket.values.length < valuesKept ? [...bucket.values, value] : bucket.values
      }

/** Nearest-rank 95th percentile of the kept values. */
export const summarize = (bucket: Bucket): BucketSummary => {
  const sorted = [...bucket.values].sort((a, b) => a - b)
  const rank = Math.max(0, Math.ceil(0.95 * sorted.length) - 1)
  return { start: bucket.start, count: bucket.count, mean: bucket.sum / bucket.count, max: bucket.max, p95: sorted[rank] ?? bucket.max }
}

/** A sample with the keys its series go by (the ingest puts the tenant in them). */
export interface SampleInput {
  readonly sample: TelemetrySample
  readonly instanceKey: TenantKey
  readonly clientKey: TenantKey | undefined
}

/**
 * Folds samples into the buckets they touch. `existing` looks a bucket up as stored; the result holds
 * every touched bucket in its new state, for one write.
 */
export const foldSamples = (
  inputs: Iterable<SampleInput>,
  existing: (key: BucketKey) => Bucket | undefined
): ReadonlyMap<string, Bucket> => {
  const touched = new Map<string, Bucket>()
  for (const input of inputs) {
    const atMs = Date.parse(input.sample.at)
    if (!Number.isFinite(atMs)) continue
    for (const [metric, value] of metricsOf(input.sample)) {
      for (const key of keysOf(input, metric, atMs)) {
        const id = keyString(key)
        touched.set(id, addValue(touched.get(id) ?? existing(key), key, value))
      }
    }
  }
  return touched
}
