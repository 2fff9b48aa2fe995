import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { liveness } from "../../projections/liveness.ts"
import { livenessQuery } from "../../src/queries/livenessQuery.ts"
import { catchUp, deployAs, handleAs, readModelLayers, rebuildOf, recordHeartbeat, whileRebuilding } from "../support/readModelSpec.ts"

const start = Date.parse("2026-11-30T12:00:00.000Z")
const iso = (ms: number) => new Date(ms).toISOString()

/** Heartbeats a second apart from `start` + `fromMs`, with the given seqs. */
const heartbeats = (tenant: string, instanceId: string, seqs: ReadonlyArray<number>, fromMs = 0) =>
  Effect.forEach(seqs, (seq, i) => recordHeartbeat(tenant, instanceId, seq, iso(start + fromMs + i * 1_000)), { discard: true })

const instanceOf = (tenant: string, instanceId: string) =>
  livenessQuery(tenant).pipe(Effect.map(({ instances }) => instances.find((row) => row.instanceId === instanceId)))

describe("Liveness", () => {
  it.effect("given regular heartbeats with a gap in seq, then the missed count, and φ low soon after the last and high long after", () =>
    Effect.gen(function* () {
      yield* deployAs("acme", "shd-a", "c1", iso(start))
      yield* heartbeats("acme", "shd-a", [0, 1, 2, 3, 4, 6, 7, 8])
      yield* catchUp(liveness)
      const last = start + 7_000

      yield* TestClock.setTime(last + 500)
      const soon = yield* instanceOf("acme", "shd-a")
      assert.deepInclude(soon, { instanceId: "shd-a", lastHeartbeat: { seq: 8, at: iso(last) }, missed: 1, recreations: 0, silent: false })
      assert.isBelow(soon!.phi!, 1)

      yield* TestClock.setTime(last + 4_000)
      const late = yield* instanceOf("acme", "shd-a")
      assert.isTrue(late!.silent)
      assert.isTrue(late!.phi === null || late!.phi > 8, `φ ${late!.phi}`)
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("given a recreation, then it is counted, and the new agent's seq from 0 is no gap", () =>
    Effect.gen(function* () {
      yield* deployAs("acme", "shd-a", "c1", iso(start))
      yield* handleAs("acme", "RecordInstanceStarted", { instanceId: "shd-a", runtimeId: "r1" })
      yield* heartbeats("acme", "shd-a", [0, 1, 2])
      yield* handleAs("acme", "MarkHeartbeatLost", { instanceId: "shd-a", reason: "silent" })
      yield* handleAs("acme", "RecreateInstance", { instanceId: "shd-a", attempt: 1, runtimeId: "r2" }, iso(start + 10_000))
      yield* heartbeats("acme", "shd-a", [0, 1, 3], 11_000)
      yield* catchUp(liveness)
      yield* TestClock.setTime(start + 13_500)
      const row = yield* instanceOf("acme", "shd-a")
      assert.deepInclude(row, { recreations: 1, missed: 1, lastHeartbeat: { seq: 3, at: iso(start + 13_000) }, silent: false })
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("given an instance not heard from yet, then φ is 0 within the startup grace; a terminated instance is gone", () =>
    Effect.gen(function* () {
      yield* deployAs("acme", "shd-a", "c1", iso(start))
      yield* deployAs("acme", "shd-b", "c1", iso(start))
      yield* handleAs("acme", "TerminateInstance", { instanceId: "shd-b", reason: "done" })
      yield* catchUp(liveness)
      yield* TestClock.setTime(start + 1_000)
      const { instances } = yield* livenessQuery("acme")
      assert.deepStrictEqual(instances, [{ instanceId: "shd-a", lastHeartbeat: null, missed: 0, recreations: 0, phi: 0, silent: false, latency: null }])
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("given heartbeats with round trips after old ones without, then last, p50 and p99 of the round trips; a recreation starts them afresh", () =>
    Effect.gen(function* () {
      yield* deployAs("acme", "shd-a", "c1", iso(start))
      yield* handleAs("acme", "RecordInstanceStarted", { instanceId: "shd-a", runtimeId: "r1" })
      yield* heartbeats("acme", "shd-a", [0, 1])
      const rtts = [3, 1, 2, 4, 100, 5, 2]
      yield* Effect.forEach(rtts, (rttMs, i) => recordHeartbeat("acme", "shd-a", i + 2, iso(start + (i + 2) * 1_000), rttMs), { discard: true })
      yield* catchUp(liveness)
      yield* TestClock.setTime(start + 9_500)
      assert.deepInclude(yield* instanceOf("acme", "shd-a"), {
        lastHeartbeat: { seq: 8, at: iso(start + 8_000) },
        missed: 0,
        latency: { lastMs: 2, p50Ms: 3, p99Ms: 100, samples: 7 }
      })

      yield* handleAs("acme", "MarkHeartbeatLost", { instanceId: "shd-a", reason: "silent" })
      yield* handleAs("acme", "RecreateInstance", { instanceId: "shd-a", attempt: 1, runtimeId: "r2" }, iso(start + 20_000))
      yield* recordHeartbeat("acme", "shd-a", 0, iso(start + 21_000), 7)
      yield* catchUp(liveness)
      assert.deepInclude(yield* instanceOf("acme", "shd-a"), { latency: { lastMs: 7, p50Ms: 7, p99Ms: 7, samples: 1 } })
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("given two tenants, then each sees only its own instances", () =>
    Effect.gen(function* () {
      yield* deployAs("acme", "shd-a", "c1", iso(start))
      yield* deployAs("beta", "shd-b", "c1", iso(start))
      yield* heartbeats("beta", "shd-b", [0, 2])
      yield* catchUp(liveness)
      assert.deepStrictEqual((yield* livenessQuery("acme")).instances.map((row) => [row.instanceId, row.missed]), [["shd-a", 0]])
      assert.deepStrictEqual((yield* livenessQuery("beta")).instances.map((row) => [row.instanceId, row.missed]), [["shd-b", 1]])
    }).pipe(Effect.provide(readModelLayers)))

  it.effect("while the projection is rebuilt, the answer says so", () =>
    Effect.gen(function* () {
      yield* deployAs("acme", "shd-a", "c1", iso(start))
      yield* catchUp(liveness)
      const answer = yield* livenessQuery("acme").pipe(whileRebuilding(liveness))
      assert.deepStrictEqual(rebuildOf(answer), { rebuilding: true, progress: { folded: 1, total: 2 } })
      assert.strictEqual(answer.instances.length, 1)
    }).pipe(Effect.provide(readModelLayers)))
})
