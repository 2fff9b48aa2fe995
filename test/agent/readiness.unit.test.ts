import { assert, describe, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import { TestClock } from "effect/testing"
import { trackReadiness } from "../../infra/agent/readiness.ts"

/** A probe that answers as scripted, one answer a call, the last one from then on. */
const scripted = (answers: ReadonlyArray<boolean>) =>
  Effect.map(Ref.make(0), (calls) =>
    Ref.getAndUpdate(calls, (n) => n + 1).pipe(Effect.map((n) => answers[Math.min(n, answers.length - 1)]!)))

describe("the workload's readiness in heartbeats", () => {
  it.effect("says warming until the workload is first ready, not when it stops answering later, and again after a restart", () =>
    Effect.gen(function* () {
      const probe = yield* scripted([false, false, true, false, true])
      const readiness = yield* trackReadiness(probe, 1_000)
      const seen = [yield* readiness.current]
      for (let beat = 0; beat < 4; beat++) {
        yield* TestClock.adjust(1_000)
        seen.push(yield* readiness.current)
      }
      assert.deepStrictEqual(seen, [
        { ready: false, warming: true },
        { ready: false, warming: true },
        { ready: true, warming: false },
        { ready: false, warming: false },
        { ready: true, warming: false }
      ])
      yield* readiness.restarting(Effect.void)
      assert.deepStrictEqual(yield* readiness.current, { ready: false, warming: true })
    }).pipe(Effect.scoped))

  it.effect("says not ready while the workload is replaced, however ready the one it replaces still answers", () =>
    Effect.gen(function* () {
      const readiness = yield* trackReadiness(Effect.succeed(true), 1_000)
      const during = yield* readiness.restarting(TestClock.adjust(3_000).pipe(Effect.andThen(readiness.current)))
      assert.deepStrictEqual(during, { ready: false, warming: true })
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* readiness.current, { ready: true, warming: false })
    }).pipe(Effect.scoped))

  it.effect("tells when a later probe finds the workload ready after it was not, once each time", () =>
    Effect.gen(function* () {
      const turned = yield* Ref.make(0)
      const probe = yield* scripted([false, false, true, true, false, true])
      yield* trackReadiness(probe, 1_000, Ref.update(turned, (n) => n + 1))
      const counts = []
      for (let beat = 0; beat < 5; beat++) {
        yield* TestClock.adjust(1_000)
        counts.push(yield* Ref.get(turned))
      }
      assert.deepStrictEqual(counts, [0, 1, 1, 1, 2])
    }).pipe(Effect.scoped))

  it.effect("a workload ready at its first probe is never warming", () =>
    Effect.gen(function* () {
      const readiness = yield* trackReadiness(Effect.succeed(true), 1_000)
      assert.deepStrictEqual(yield* readiness.current, { ready: true, warming: false })
    }).pipe(Effect.scoped))
})
