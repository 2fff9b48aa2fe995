import { Effect } from "effect"
import { readModels } from "../../projections/readModels.ts"
import { makeProjectionRunner } from "./projectionRunner.ts"

/**
 * Keeps every read model folding the log, in the current scope: each catches up (a new version rebuilds,
 * and its query says so meanwhile), then follows live events.
 */
export const runReadModels = Effect.forEach(
  readModels,
  (projection) =>
    Effect.gen(function* () {
      const runner = yield* makeProjectionRunner(projection)
      yield* Effect.forkScoped(
        runner.catchUp().pipe(
          Effect.tapCause((cause) => Effect.logError("a read model could not catch up; following from its checkpoint", cause)),
          Effect.ignore,
          Effect.andThen(runner.follow)
        )
      )
    }),
  { discard: true }
)
