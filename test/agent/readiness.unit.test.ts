import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Ref } from "effect"
import { TestClock } from "effect/testing"
import { probeSchedule, trackReadiness } from "../../infra/agent/readiness.ts"

/** A probe that answers as scripted, one answer a call, the last one from then on. */
const scripted = (answers: ReadonlyArray<boolean>) =>
  Effect.map(Ref.make(0), (calls) =>
    Ref.getAndUpdate(calls, (n) => n + 1).pipe(Effect.map((n) => answers[Math.min(n, answers.length - 1)]!)))

/** Once a second, warming or not: the tests of what probes find, apart from when they run. */
const everySecond = { everyMs: 1_000, warmingEveryMs: 1_000, warmingProbes: 0 }

/** A probe that counts its calls and answers ready once `readyAt` (ms on the clock) has passed. */
const readyFrom = (readyAt: Ref.Ref<number>) =>
  Effect.gen(function* () {
    const calls = yield* Ref.make(0)
    const probe = Effect.gen(function* () {
      yield* Ref.update(calls, (n) => n + 1)
      return (yield* Clock.currentTimeMillis) >= (yield* Ref.get(readyAt))
    })
    return { probe, calls: Ref.get(calls) }
  })

describe("the workload's readiness in heartbeats", () => {
  it.effect("says warming until the workload is first ready, not when it stops answering later, and again after a restart", () =>
    Effect.gen(function* () {
      const probe = yield* scripted([false, false, true, false, true])
      const readiness = yield* trackReadiness(probe, everySecond)
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
      const readiness = yield* trackReadiness(Effect.succeed(true), everySecond)
      const during = yield* readiness.restarting(TestClock.adjust(3_000).pipe(Effect.andThen(readiness.current)))
      assert.deepStrictEqual(during, { ready: false, warming: true })
      yield* TestClock.adjust(1_000)
      assert.deepStrictEqual(yield* readiness.current, { ready: true, warming: false })
    }).pipe(Effect.scoped))

  it.effect("tells when a later probe finds the workload ready after it was not, once each time", () =>
    Effect.gen(function* () {
      const turned = yield* Ref.make(0)
      const probe = yield* scripted([false, false, true, true, false, true])
      yield* trackReadiness(probe, everySecond, Ref.update(turned, (n) => n + 1))
      const counts = []
      for (let beat = 0; beat < 5; beat++) {
        yield* TestClock.adjust(1_000)
        counts.push(yield* Ref.get(turned))
      }
      assert.deepStrictEqual(counts, [0, 1, 1, 1, 2])
    }).pipe(Effect.scoped))

  it.effect("a workload ready at its first probe is never warming", () =>
    Effect.gen(function* () {
      const readiness = yield* trackReadiness(Effect.succeed(true), everySecond)
      assert.deepStrictEqual(yield* readiness.current, { ready: true, warming: false })
    }).pipe(Effect.scoped))

  describe("the agent's probe schedule (100 ms probes while warming, for at most 10 s; the heartbeat interval otherwise)", () => {
    it.effect("given a workload warming for 650 ms, when it turns ready, then it is seen ready within 100 ms, and probed once a heartbeat after", () =>
      Effect.gen(function* () {
        const { probe, calls } = yield* readyFrom(yield* Ref.make(650))
        const turned = yield* Ref.make<Array<number>>([])
        const readiness = yield* trackReadiness(probe, probeSchedule(1_000), Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => Ref.update(turned, (at) => [...at, now]))
        ))
        yield* TestClock.adjust(600)
        assert.deepStrictEqual(yield* readiness.current, { ready: false, warming: true })
        yield* TestClock.adjust(100)
        assert.deepStrictEqual(yield* readiness.current, { ready: true, warming: false })
        assert.deepStrictEqual(yield* Ref.get(turned), [700])
        // The first probe at 0 ms, then 7 warming ones; once ready, one a second.
        assert.strictEqual(yield* calls, 8)
        yield* TestClock.adjust(3_000)
        assert.strictEqual(yield* calls, 11)
      }).pipe(Effect.scoped))

    it.effect("given a warm-up longer than 10 s, when its warming probes are used up, then it is probed once a heartbeat interval", () =>
      Effect.gen(function* () {
        const { probe, calls } = yield* readyFrom(yield* Ref.make(60_000))
        const readiness = yield* trackReadiness(probe, probeSchedule(1_000))
        yield* TestClock.adjust(10_000)
        assert.strictEqual(yield* calls, 101)
        yield* TestClock.adjust(10_000)
        assert.strictEqual(yield* calls, 111)
        assert.deepStrictEqual(yield* readiness.current, { ready: false, warming: true })
      }).pipe(Effect.scoped))

    it.effect("given a ready workload probed once a heartbeat, when it is restarted, then its replacement is probed fast from its start and seen ready within 100 ms", () =>
      Effect.gen(function* () {
        const readyAt = yield* Ref.make(0)
        const { probe, calls } = yield* readyFrom(readyAt)
        const readiness = yield* trackReadiness(probe, probeSchedule(1_000))
        yield* TestClock.adjust(1_100)
        assert.strictEqual(yield* calls, 2)
        // Restarted 100 ms into a heartbeat interval; the new workload is ready 650 ms later, before that interval ends.
        yield* readiness.restarting(Ref.set(readyAt, 1_750))
        yield* TestClock.adjust(600)
        assert.deepStrictEqual(yield* readiness.current, { ready: false, warming: true })
        yield* TestClock.adjust(100)
        assert.deepStrictEqual(yield* readiness.current, { ready: true, warming: false })
        assert.strictEqual(yield* calls, 9)
        // One schedule: the run that waited out the interval when the workload was replaced is gone.
        yield* TestClock.adjust(3_000)
        assert.strictEqual(yield* calls, 12)
      }).pipe(Effect.scoped))

    it.effect("never probes faster than the heartbeat when the heartbeat is faster than 100 ms", () =>
      Effect.sync(() => assert.deepStrictEqual(probeSchedule(50), { everyMs: 50, warmingEveryMs: 50, warmingProbes: 200 })))
  })
})
