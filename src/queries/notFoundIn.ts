import { Effect } from "effect"
import { NotFound } from "../../domain/errors.ts"
import { ProjectionProgress } from "../projections/projectionProgress.ts"

/**
 * Fails with NotFound for what a query names and its read model has no row of; while that model is being
 * rebuilt the details say `rebuilding: true`, since the row may only not be folded yet.
 */
export const notFoundIn = (projection: string, message: string, details: Record<string, unknown>) =>
  Effect.gen(function* () {
    const rebuilding = (yield* ProjectionProgress).has(projection)
    return yield* new NotFound({ message, details: rebuilding ? { ...details, rebuilding: true } : details })
  })
