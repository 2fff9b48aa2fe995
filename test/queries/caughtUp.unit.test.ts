import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { fleet } from "../../projections/fleet.ts"
import { makeProjectionRunner } from "../../src/projections/projectionRunner.ts"
import { fleetQuery } from "../../src/queries/fleetQuery.ts"
import { deployAs, readModelLayers } from "../support/readModelSpec.ts"

describe("a query after the commands before it", () => {
  it.live("sees what they stored, though the projection folds live events in batches", () =>
    Effect.gen(function* () {
      const runner = yield* makeProjectionRunner(fleet)
      yield* Effect.forkScoped(runner.follow)
      for (const id of ["shd-a", "shd-b", "shd-c"]) {
        yield* deployAs("acme", id, "c1")
        assert.isTrue((yield* fleetQuery("acme")).instances.some((row) => row.instanceId === id), id)
      }
    }).pipe(Effect.scoped, Effect.provide(readModelLayers)))
})
