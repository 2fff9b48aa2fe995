import type { TelemetrySample } from "../domain/signals.ts"
import type { TenantKey } from "../domain/tenantKey.ts"
import { type Projection, type RowChange, upsert } from "./projection.ts"

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

/** A bucket as its row holds it. */
export interface Bucket {
  readonly start: number
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

/** The series of one instance or client at one bucket size: what the scaling engine lists, and the sweep prunes. */
export interface SeriesRow {
  readonly scope: Scope
  readonly size: BucketSize
  readonly key: TenantKey
  readonly metrics: ReadonlyArray<string>
}

/** Enough for a sample every second in a 5-minute bucket; past that the percentile uses the first ones. */
export const valuesKept = 300

/**
 * Buckets per row: a row holds a block of consecutive buckets of one series (ten minutes of 1-minute
 * buckets, fifty of 5-minute ones), so a batch writes a few rows per series rather than one per bucket.
 */
export const bucketsPerBlock = 10

/** A block's row: its buckets, oldest first. */
export interface BlockRow {
  readonly buckets: ReadonlyArray<Bucket>
}

/** Fixed width, so that key order is time order (epoch milliseconds have 13 digits until the year 2286). */
const startDigits = 15

/** The start of the block a time falls in. */
export const blockStart = (size: BucketSize, atMs: number) => {
  const blockMs = bucketSizes[size].ms * bucketsPerBlock
  return atMs - (atMs % blockMs)
}

/**
 * Row keys. A series' blocks share a prefix and sort by start; metric names and tenant keys hold no `/`.
 * Series rows are keyed by scope and size first, so that listing one kind reads only those.
 */
export const telemetryKeys = {
  series: (scope: Scope, size: BucketSize, key: string) => `series/${scope}/${size}/${key}`,
  seriesOf: (scope: Scope, size: BucketSize) => `series/${scope}/${size}/`,
  blocks: (scope: Scope, key: string, metric: string, size: BucketSize) => `bucket/${scope}/${key}/${metric}/${size}/`,
  /** The row of the block that holds the bucket (or the time) `start`. */
  block: (bucket: BucketKey) =>
    telemetryKeys.blocks(bucket.scope, bucket.key, bucket.metric, bucket.size) + blockSuffix(blockStart(bucket.size, bucket.start))
}

/** The end of a block's key after its series' prefix: its start. */
const blockSuffix = (start: number) => String(start).padStart(startDigits, "0")

const sizes = Object.keys(bucketSizes) as Array<BucketSize>

/** Nearest-rank 95th percentile of the kept values. */
export const summarize = (bucket: Bucket): BucketSummary => {
  const sorted = [...bucket.values].sort((a, b) => a - b)
  const rank = Math.max(0, Math.ceil(0.95 * sorted.length) - 1)
  return { start: bucket.start, count: bucket.count, mean: bucket.sum / bucket.count, max: bucket.max, p95: sorted[rank] ?? bucket.max }
}

/** The series row listing `metric`: the same row when it does already, so that nothing is written. */
const withMetric = (row: SeriesRow, metric: string): SeriesRow => (row.metrics.includes(metric) ? row : { ...row, metrics: [...row.metrics, metric] })

/** A sample with the keys its series go by (the ingest puts the tenant in them and attributes the client). */
export interface SampleInput {
  readonly sample: TelemetrySample
  /** The sample's `at` in epoch milliseconds when its decoder parsed it already (else parsed here). */
  readonly atMs?: number
  readonly instanceKey: TenantKey
  readonly clientKey: TenantKey | undefined
}

/** Adds what a batch gathered for a block's buckets to the block as stored, keeping its buckets in time order. */
const mergeBlock = (stored: BlockRow | undefined, gathered: ReadonlyArray<Gathered>): BlockRow => {
  // A block holds at most `bucketsPerBlock` buckets: a linear search finds a bucket sooner than a map is built.
  const buckets = stored === undefined ? [] : [...stored.buckets]
  for (const bucket of gathered) {
    const at = buckets.findIndex((held) => held.start >= bucket.start)
    if (at === -1) buckets.push(bucket)
    else if (buckets[at]!.start === bucket.start) buckets[at] = merge(buckets[at]!, bucket)
    else buckets.splice(at, 0, bucket)
  }
  return { buckets }
}

/** Adds what a batch gathered for a bucket to the bucket as stored. */
const merge = (stored: Bucket, gathered: Bucket): Bucket => ({
  start: stored.start,
  count: stored.count + gathered.count,
  sum: stored.sum + gathered.sum,
  max: Math.max(stored.max, gathered.max),
  values: stored.values.length < valuesKept ? [...stored.values, ...gathered.values].slice(0, valuesKept) : stored.values
})

/** A bucket's share of one batch: the batch's own object, so it grows in place. */
interface Gathered {
  readonly start: number
  count: number
  sum: number
  max: number
  readonly values: Array<number>
}

/** What a batch gathered for one series: per metric, per bucket start. */
interface GatheredSeries {
  readonly row: SeriesRow
  readonly bucketMs: number
  readonly metrics: Map<string, Map<number, Gathered>>
}

const gatherValue = (series: GatheredSeries, metric: string, start: number, value: number) => {
  let starts = series.metrics.get(metric)
  if (starts === undefined) series.metrics.set(metric, (starts = new Map()))
  const gathered = starts.get(start)
  if (gathered === undefined) {
    starts.set(start, { start, count: 1, sum: value, max: value, values: [value] })
    return
  }
  gathered.count += 1
  gathered.sum += value
  if (value > gathered.max) gathered.max = value
  if (gathered.values.length < valuesKept) gathered.values.push(value)
}

/** The row changes of one series: its series row, and one per block of buckets the batch touched, per metric. */
const seriesChanges = ({ row, metrics }: GatheredSeries, seriesKey: string, changes: Array<RowChange>) => {
  changes.push(upsert<SeriesRow>(seriesKey, (stored) => [...metrics.keys()].reduce(withMetric, stored ?? row)))
  for (const [metric, starts] of metrics) {
    const blocks = new Map<number, Array<Gathered>>()
    for (const bucket of starts.values()) {
      const block = blockStart(row.size, bucket.start)
      const held = blocks.get(block)
      if (held === undefined) blocks.set(block, [bucket])
      else held.push(bucket)
    }
    const prefix = telemetryKeys.blocks(row.scope, row.key, metric, row.size)
    for (const [block, buckets] of blocks) {
      changes.push(upsert<BlockRow>(prefix + blockSuffix(block), (stored) => mergeBlock(stored, buckets)))
    }
  }
}

/**
 * Telemetry in buckets of one and five minutes, per instance and per client, with each series listed once.
 * It folds batches of samples as the ingest reads them from UMBRA_SIGNALS (its checkpoint is a stream
 * sequence): a batch is gathered per bucket first, so each block of buckets it touches is one row change. The
 * archived copies in the store are not its source, since the client a sample counts for is the one Umbra
 * recorded for the instance when the sample arrived. Old buckets are pruned by a sweep, not by the fold.
 */
export const telemetryBuckets: Projection<ReadonlyArray<SampleInput>, unknown> = {
  name: "telemetry",
  version: 2,
  handles: new Set(["TelemetryRecorded"]),
  apply: (inputs) => {
    const gathered = new Map<string, GatheredSeries>()
    const seriesOf = (scope: Scope, size: BucketSize, key: TenantKey) => {
      const seriesKey = telemetryKeys.series(scope, size, key)
      let series = gathered.get(seriesKey)
      if (series === undefined) {
        gathered.set(seriesKey, (series = { row: { scope, size, key, metrics: [] }, bucketMs: bucketSizes[size].ms, metrics: new Map() }))
      }
      return series
    }
    // The series an instance's samples feed (per instance, and per client when it serves one), found once a batch.
    const feeds = new Map<TenantKey, { readonly clientKey: TenantKey | undefined; readonly series: ReadonlyArray<GatheredSeries> }>()
    const feedsOf = (instanceKey: TenantKey, clientKey: TenantKey | undefined) => {
      const found = feeds.get(instanceKey)
      if (found !== undefined && found.clientKey === clientKey) return found.series
      const series = sizes.flatMap((size) => [
        seriesOf("instance", size, instanceKey),
        ...(clientKey === undefined ? [] : [seriesOf("client", size, clientKey)])
      ])
      feeds.set(instanceKey, { clientKey, series })
      return series
    }
    for (const { sample, atMs = Date.parse(sample.at), instanceKey, clientKey } of inputs) {
      if (!Number.isFinite(atMs)) continue
      for (const series of feedsOf(instanceKey, clientKey)) {
        const start = atMs - (atMs % series.bucketMs)
        // CPU cores, memory bytes, and what the workload reports.
        gatherValue(series, "cpu", start, sample.cpu)
        gatherValue(series, "memBytes", start, sample.memBytes)
        if (sample.metrics !== undefined) {
          for (const metric in sample.metrics) {
            const value = sample.metrics[metric]!
            if (Number.isFinite(value)) gatherValue(series, metric, start, value)
          }
        }
      }
    }
    const changes: Array<RowChange> = []
    for (const [seriesKey, series] of gathered) seriesChanges(series, seriesKey, changes)
    return changes
  }
}
