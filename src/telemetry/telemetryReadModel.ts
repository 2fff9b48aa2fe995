import { Context, Effect, Layer } from "effect"
import type { TenantKey } from "../../domain/tenantKey.ts"
import {
  type BlockRow,
  type BucketSize,
  bucketSizes,
  type BucketSummary,
  type SampleInput,
  type Scope,
  type SeriesRow,
  summarize,
  telemetryBuckets,
  telemetryKeys
} from "../../projections/telemetryBuckets.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"
import { positionFrom } from "../eventStore/position.ts"
import { ProjectionStore } from "../projections/projectionStore.ts"

const projection = telemetryBuckets

/** The telemetry read model: bucketed samples, and how far into UMBRA_SIGNALS it has read. */
export class TelemetryReadModel extends Context.Service<
  TelemetryReadModel,
  {
    /** Folds a batch and moves the checkpoint to `throughSeq` in one transaction: a replay never counts twice. */
    readonly apply: (batch: ReadonlyArray<SampleInput>, throughSeq: number) => Effect.Effect<void, StoreUnavailable>
    /** The stream sequence of the last sample applied (0 before any, and after a new version clears the rows). */
    readonly checkpoint: () => Effect.Effect<number, StoreUnavailable>
    /** The keys that have buckets of this scope and size. */
    readonly keys: (scope: Scope, size: BucketSize) => Effect.Effect<ReadonlyArray<TenantKey>, StoreUnavailable>
    /** A series, oldest bucket first, from `sinceMs` (inclusive) when given. */
    readonly series: (query: {
      readonly scope: Scope
      readonly key: TenantKey
      readonly metric: string
      readonly size: BucketSize
      readonly sinceMs?: number
    }) => Effect.Effect<ReadonlyArray<BucketSummary>, StoreUnavailable>
    /** Deletes the buckets each series no longer keeps at `nowMs`; returns the series swept. */
    readonly prune: (nowMs: number) => Effect.Effect<number, StoreUnavailable>
  }
>()("umbra/TelemetryReadModel") {
  /** The read model as the `telemetry` projection's rows. */
  static readonly layer = Layer.effect(
    TelemetryReadModel,
    Effect.gen(function* () {
      const rows = yield* ProjectionStore
      const seriesRows = (scope: Scope, size: BucketSize) =>
        rows.rows(projection.name, telemetryKeys.seriesOf(scope, size)).pipe(Effect.map((found) => found.map(({ value }) => value as SeriesRow)))
      const everySeries = Effect.forEach(
        (["instance", "client"] as const).flatMap((scope) => (Object.keys(bucketSizes) as Array<BucketSize>).map((size) => [scope, size] as const)),
        ([scope, size]) => seriesRows(scope, size)
      ).pipe(Effect.map((found) => found.flat()))

      return TelemetryReadModel.of({
        apply: (batch, throughSeq) =>
          rows.apply(projection.name, projection.version, projection.apply(batch, undefined), positionFrom(throughSeq)),
        checkpoint: () => rows.checkpoint(projection.name, projection.version).pipe(Effect.map((position) => (position === undefined ? 0 : Number(position)))),
        keys: (scope, size) => seriesRows(scope, size).pipe(Effect.map((found) => found.map((row) => row.key))),
        series: (query) =>
          rows
            .rows(
              projection.name,
              telemetryKeys.blocks(query.scope, query.key, query.metric, query.size),
              query.sinceMs === undefined ? undefined : telemetryKeys.block({ ...query, start: query.sinceMs })
            )
            .pipe(
              Effect.map((found) =>
                found.flatMap(({ value }) => (value as BlockRow).buckets.filter((bucket) => bucket.start >= (query.sinceMs ?? 0)).map(summarize))
              )
            ),
        prune: (nowMs) =>
          Effect.gen(function* () {
            const series = yield* everySeries
            for (const row of series) {
              const size = bucketSizes[row.size]
              const oldestKept = nowMs - (nowMs % size.ms) - (size.keep - 1) * size.ms
              for (const metric of row.metrics) {
                // Whole blocks only: the block that holds the oldest bucket kept stays, with up to nine older ones.
                const prefix = telemetryKeys.blocks(row.scope, row.key, metric, row.size)
                yield* rows.deleteRange(projection.name, prefix, telemetryKeys.block({ ...row, metric, start: oldestKept }))
              }
            }
            return series.length
          })
      })
    })
  )
}
