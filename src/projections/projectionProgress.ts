import { Context } from "effect"

/** How far a projection that folds the log from its start has got; the query it serves says so. */
export interface Rebuild {
  readonly folded: number
  /** The events the log held when the rebuild started, when the store can say. */
  readonly total: number | undefined
  readonly startedAtMs: number
}

/** The projections being rebuilt now, by name: their queries answer with `rebuilding: true` and this. */
export const ProjectionProgress = Context.Reference<Map<string, Rebuild>>("umbra/ProjectionProgress", { defaultValue: () => new Map() })
