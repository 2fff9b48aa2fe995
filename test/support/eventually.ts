import { assert } from "@effect/vitest"
import { Effect, Schedule } from "effect"

/** Polls `check` every 50 ms until it holds, failing the test after `ms`. */
export const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, ms = 10_000, what = "condition") =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (ok) => ok }),
    Effect.timeoutOrElse({ duration: ms, orElse: () => Effect.succeed(false) }),
    Effect.map((ok) => assert.isTrue(ok, `${what} not reached within ${ms} ms`))
  )
