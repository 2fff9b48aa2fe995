import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { untilItWorks } from "../src/backoff.ts"

/** The waits the schedule gives for failures at these times (ms), one after another. */
const waitsAt = (times: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const step = yield* Schedule.toStep(untilItWorks)
    const waits: Array<number> = []
    for (const now of times) waits.push(Duration.toMillis((yield* step(now, undefined))[1]))
    return waits
  })

describe("untilItWorks", () => {
  it.effect("doubles from 100 ms up to 5 s while tries fail at once", () =>
    Effect.gen(function* () {
      const times = [0]
      for (let i = 0; i < 8; i++) times.push(times.at(-1)! + [100, 200, 400, 800, 1600, 3200, 5000, 5000][i]! + 5)
      assert.deepStrictEqual(yield* waitsAt(times), [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000])
    }))

  it.effect("starts again at 100 ms once a try ran a minute before it failed: a new outage", () =>
    Effect.gen(function* () {
      // Three quick failures, then a try that ran 61 s, then quick failures again.
      const times = [0, 105, 310, 710 + 61_000, 61_710 + 105]
      assert.deepStrictEqual(yield* waitsAt(times), [100, 200, 400, 100, 200])
    }))
})
