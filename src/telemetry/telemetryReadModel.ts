import { Context, type Effect } from "effect"
import type { TenantKey } from "../../domain/tenantKey.ts"
import type { BucketSize, BucketSummary, Scope, SampleInput } from "../../projections/telemetryBuckets.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"

/** The telemetry read model: bucketed samples, and how far into UMBRA_SIGNALS it has read. */
export class TelemetryReadModel extends Context.Service<
  TelemetryReadModel,
  {
    /** Folds a batch and moves the checkpoint to `throughSeq` in one transaction: a replay never counts twice. */
    readonly apply: (batch: ReadonlyArray<SampleInput>, throughSeq: number) => Effect.Effect<void, StoreUnavailable>
    /** The stream sequence of the last sample applied (0 before any). */
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
  }
>()("umbra/TelemetryReadModel") {}
