import { Effect } from "effect"
import type { Position } from "../../domain/envelope.ts"
import { allProjections } from "../../projections/readModels.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { eventsAfter, type EventsBehind } from "../eventStore/eventsAfter.ts"
import { ProjectionStore } from "./projectionStore.ts"

/** How far one projection of the global log has folded it, and what it has still to fold. */
export interface ProjectionPosition extends EventsBehind {
  readonly projection: string
  /** Undefined before its first page (or while a new version rebuilds from the start). */
  readonly checkpoint: Position | undefined
}

/** Every projection of the global log, read from the store that keeps its rows and checkpoint. */
export const projectionPositions = Effect.gen(function* () {
  const store = yield* EventStore
  const rows = yield* ProjectionStore
  return yield* Effect.forEach(allProjections, (projection) =>
    Effect.gen(function* () {
      const checkpoint = yield* rows.checkpoint(projection.name, projection.version)
      return { projection: projection.name, checkpoint, ...(yield* eventsAfter(store, checkpoint)) } satisfies ProjectionPosition
    }))
})
