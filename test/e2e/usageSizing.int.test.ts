import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ShadowResources } from "../../domain/instance/sizingPolicy.ts"
import { subjects } from "../../domain/subjects.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { orchestratedControlPlaneLayer, shadowOf, shadowTestSettings, sharedTemplate, streamTypes, testTenant } from "../support/shadowHarness.ts"

const tenant = testTenant("us")

/** A window of 3 s and a cool-down of 4 s: the same decisions as minutes apart, in seconds. */
const settings = { ...shadowTestSettings, poolSize: 0, usageWindowMs: 3_000, usageCoolDownMs: 4_000 }
// The scaling engine kept out of the way: a refined profile would move the bounds this test is about.
const controlPlane = orchestratedControlPlaneLayer(tenant, "process", settings, { scalingIntervalMs: 600_000 })

/** The agent's own samples once an hour: the test speaks for the workload's use, as its agent would. */
const template = { ...sharedTemplate, telemetryMs: 3_600_000 }
/** A standard profile (2 cores, 4 GiB) at a quarter; the tests' floor. */
const ceiling: ShadowResources = { cpuMillis: 500, memoryMiB: 1024 }
const floor: ShadowResources = { cpuMillis: settings.shadowMinCpuMillis, memoryMiB: settings.shadowMinMemoryMiB }

interface Resized {
  readonly resources: ShadowResources
  readonly reason: string
  readonly atMs: number
}

const resizes = (instanceId: string) =>
  Effect.gen(function* () {
    const events = yield* (yield* EventStore).readStream(`instance-${tenant}.${instanceId}`)
    return events
      .filter((event) => event.type === "InstanceResized")
      .map((event): Resized => ({ ...(event.data as Omit<Resized, "atMs">), atMs: Date.parse(event.at) }))
  })

/**
 * Publishes what the shadow uses, as its agent would (core NATS, every 50 ms): `use` of its current limits,
 * as the runtime has them, so that a workload that wants more than it has uses all it has.
 */
const usage = (instanceId: string, use: (limits: ShadowResources) => ShadowResources) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    const runtime = yield* InstanceRuntime
    const info = (yield* runtime.inspect({ tenant, instanceId }))!
    const { cpuMillis, memoryMiB } = use(info)
    const sample = { instanceId, at: new Date().toISOString(), cpu: cpuMillis / 1000, memBytes: memoryMiB * 1024 * 1024 }
    nc.publish(subjects.signal(tenant, instanceId, "tm"), JSON.stringify(sample))
  }).pipe(Effect.andThen(Effect.sleep("50 millis")), Effect.forever)

/** Runs `check` while the shadow's use is published. */
const whileUsing = <E, R>(instanceId: string, use: (limits: ShadowResources) => ShadowResources, check: Effect.Effect<void, E, R>) =>
  Effect.raceFirst(check, usage(instanceId, use))

const idle = () => ({ cpuMillis: 10, memoryMiB: 100 })
/** Demand beyond any bound: it uses nearly all it is given. */
const loaded = (limits: ShadowResources) => ({ cpuMillis: 0.98 * limits.cpuMillis, memoryMiB: 0.98 * limits.memoryMiB })

const same = (a: ShadowResources | undefined, b: ShadowResources) => a?.cpuMillis === b.cpuMillis && a.memoryMiB === b.memoryMiB

/** The `count`th resize or a later one gave the shadow `resources`, and the runtime has them. */
const sizedTo = (instanceId: string, resources: ShadowResources, count: number) =>
  Effect.gen(function* () {
    const all = yield* resizes(instanceId)
    if (all.length < count || !same(all.at(-1)!.resources, resources)) return false
    return same(yield* (yield* InstanceRuntime).inspect({ tenant, instanceId }), resources)
  })

layer(controlPlane, { excludeTestServices: true, timeout: "120 seconds" })("a shadow sized by its own use (process runtime)", (it) => {
  it.effect("an idle shadow shrinks to the floor, grows under load up to its share of the peak and no further, and shrinks after the load stops", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      assert.isTrue((yield* send(tenant, "ConnectClient", { clientId: "c1", tier: "standard", template })).ok)
      yield* eventually(shadowOf(tenant, "c1").pipe(Effect.map((id) => id !== undefined)), 20_000, "a profile")
      const instanceId = (yield* shadowOf(tenant, "c1"))!
      yield* eventually(streamTypes(`instance-${tenant}.${instanceId}`).pipe(Effect.map((types) => types.includes("InstanceReady"))), 60_000, "InstanceReady")
      assert.deepInclude(yield* runtime.inspect({ tenant, instanceId }), ceiling)

      // Started at its share of the peak, it uses little: down to the floor.
      yield* whileUsing(instanceId, idle, eventually(sizedTo(instanceId, floor, 1), 20_000, "a shrink to the floor"))

      // Under load it grows, a step per cool-down, up to its share of the peak; held there, no further.
      yield* whileUsing(
        instanceId,
        loaded,
        Effect.gen(function* () {
          yield* eventually(sizedTo(instanceId, ceiling, 2), 40_000, "growth to the ceiling")
          yield* Effect.sleep(`${2 * settings.usageCoolDownMs} millis`)
        })
      )
      const underLoad = (yield* resizes(instanceId)).slice(1)
      assert.deepStrictEqual(underLoad.map((resize) => resize.resources), [
        { cpuMillis: 200, memoryMiB: 448 },
        { cpuMillis: 350, memoryMiB: 768 },
        ceiling
      ])
      assert.match(underLoad[0]!.reason, /^observed use: cpu p90 98m of 100m, memory p90 251 MiB of 256 MiB over 3 s$/)

      // The load stops: after the cool-down, back to the floor, on the runtime too.
      yield* whileUsing(instanceId, idle, eventually(sizedTo(instanceId, floor, 5), 20_000, "a shrink after the load"))
      const all = yield* resizes(instanceId)
      assert.strictEqual(all.length, 5)
      assert.strictEqual(all[4]!.reason, "observed use: cpu p90 10m of 500m, memory p90 100 MiB of 1024 MiB over 3 s")
      for (let i = 1; i < all.length; i++) assert.isAtLeast(all[i]!.atMs - all[i - 1]!.atMs, settings.usageCoolDownMs, `resize ${i + 1} kept the cool-down`)
    }), 110_000)
})
