import { assert } from "@effect/vitest"
import { Effect, Schedule } from "effect"

/**
 * Polls `check` every 50 ms until it holds, failing the test after `ms`; `explain` then says what was seen
 * instead (read once, on the failure), so a timeout in CI can be understood from its message.
 */
export const eventually = <E, R, E2 = never, R2 = never>(
  check: Effect.Effect<boolean, E, R>,
  ms = 10_000,
  what = "condition",
  explain?: Effect.Effect<string, E2, R2>
) =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (ok) => ok }),
    Effect.timeoutOrElse({ duration: ms, orElse: () => Effect.succeed(false) }),
    Effect.flatMap((ok) =>
      ok || explain === undefined ? Effect.succeed({ ok, seen: "" }) : explain.pipe(Effect.map((seen) => ({ ok, seen: `; seen: ${seen}` })))
    ),
    Effect.map(({ ok, seen }) => assert.isTrue(ok, `${what} not reached within ${ms} ms${seen}`))
  )
