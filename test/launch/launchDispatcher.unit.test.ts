import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { makeLaunchDispatcher } from "../../src/launch/launchDispatcher.ts"
import type { LaunchRunner } from "../../src/launch/launchRunner.ts"
import { eventually } from "../support/eventually.ts"

describe("launch dispatcher", () => {
  it.live("a launch resumed while a run of it is under way (its production retired meanwhile) is driven once more after that run", () =>
    Effect.gen(function* () {
      const firstRunMayEnd = yield* Deferred.make<void>()
      const runs: Array<string> = []
      const runner: LaunchRunner = {
        drive: (tenant, launchId) =>
          Effect.sync(() => runs.push(`${tenant}/${launchId}`)).pipe(
            Effect.andThen(runs.length === 0 ? Deferred.await(firstRunMayEnd) : Effect.void)
          )
      }
      const dispatcher = yield* makeLaunchDispatcher(runner, 1)
      yield* dispatcher.resume("acme", "l1")
      yield* eventually(Effect.sync(() => runs.length === 1), 5_000, "the first run")
      yield* dispatcher.resume("acme", "l1")
      yield* dispatcher.resume("acme", "l1")
      assert.deepStrictEqual(runs, ["acme/l1"], "not while the first run is under way")
      yield* Deferred.succeed(firstRunMayEnd, undefined)
      yield* eventually(Effect.sync(() => runs.length === 2), 5_000, "the second run")
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(runs, ["acme/l1", "acme/l1"], "once more, however often it was asked meanwhile")
    }).pipe(Effect.scoped))
})
