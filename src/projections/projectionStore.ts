import { Context, type Effect } from "effect"
import type { Position } from "../../domain/envelope.ts"
import type { RowChange } from "../../projections/projection.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"

/** What one page of the log changes in one projection. */
export interface ProjectionChanges {
  readonly projection: string
  readonly version: number
  readonly changes: ReadonlyArray<RowChange>
}

/** Where projections keep their rows and checkpoints: both commit in one transaction. */
export class ProjectionStore extends Context.Service<
  ProjectionStore,
  {
    /** How far the projection has folded the log, for this version; undefined: from the start (rows cleared). */
    readonly checkpoint: (projection: string, version: number) => Effect.Effect<Position | undefined, StoreUnavailable>
    /** Applies the changes and moves the checkpoint to `through`, in one transaction. */
    readonly apply: (projection: string, version: number, changes: ReadonlyArray<RowChange>, through: Position) => Effect.Effect<void, StoreUnavailable>
    /** The same for several projections at once, in one transaction: each page of the log commits once. */
    readonly applyAll: (folds: ReadonlyArray<ProjectionChanges>, through: Position) => Effect.Effect<void, StoreUnavailable>
    /** Deletes the rows with keys from `from` up to (not including) `to`: for sweeps of old rows, apart from any fold. */
    readonly deleteRange: (projection: string, from: string, to: string) => Effect.Effect<void, StoreUnavailable>
    /**
     * Clears the projection's rows and sets its checkpoint to `through` (none: it folds from the start), in one
     * transaction: what a replay starts from.
     */
    readonly reset: (projection: string, version: number, through: Position | undefined) => Effect.Effect<void, StoreUnavailable>
    /** The row at `key`, if there is one. */
    readonly row: (projection: string, key: string) => Effect.Effect<unknown, StoreUnavailable>
    /** The rows at `keys` (undefined where there is none), in their order, read in one transaction. */
    readonly rowsAt: (projection: string, keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<unknown>, StoreUnavailable>
    /** The rows whose key starts with `prefix`, in key order; from the key `from` on, when given. */
    readonly rows: (projection: string, prefix: string, from?: string) => Effect.Effect<ReadonlyArray<{ readonly key: string; readonly value: unknown }>, StoreUnavailable>
  }
>()("umbra/ProjectionStore") {}
