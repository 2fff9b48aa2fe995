import { Effect } from "effect"
import { ProjectionProgress } from "../projections/projectionProgress.ts"

/**
 * An answer read from a projection's rows: while that projection is being rebuilt it is not served as if
 * it were current, but with `rebuilding: true` and how far the rebuild has got.
 */
export const fromReadModel =
  (projection: string) =>
  <A extends object, E, R>(answer: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const result = yield* answer
      const rebuild = (yield* ProjectionProgress).get(projection)
      if (rebuild === undefined) return result
      return { ...result, rebuilding: true, progress: { folded: rebuild.folded, total: rebuild.total ?? null } }
    })
