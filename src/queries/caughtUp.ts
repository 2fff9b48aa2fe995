import { Duration, Effect, Schedule } from "effect"
import type { Projection } from "../../projections/projection.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { ProjectionProgress } from "../projections/projectionProgress.ts"
import { ProjectionStore } from "../projections/projectionStore.ts"

/** Long enough for a follower's batch (100 ms) under load; past it a query answers with what the model has. */
const longestWait = Duration.seconds(1)

/**
 * Runs `answer` once the projection has folded the log up to where it ended when the query arrived, so a
 * query sees what the commands acknowledged before it did (as folding a stream per request did). A
 * projection being rebuilt is not waited for: its answer says it is rebuilding instead.
 */
export const afterCatchingUp =
  (projection: Projection) =>
  <A, E, R>(answer: Effect.Effect<A, E, R>) =>
    Effect.gen(function* () {
      const head = yield* EventStore.use((store) => store.headPosition())
      const rebuilding = (yield* ProjectionProgress).has(projection.name)
      if (head !== undefined && !rebuilding) {
        yield* ProjectionStore.use((rows) => rows.checkpoint(projection.name, projection.version)).pipe(
          Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (through) => through !== undefined && through >= head }),
          Effect.timeoutOrElse({ duration: longestWait, orElse: () => Effect.void })
        )
      }
      return yield* answer
    })
