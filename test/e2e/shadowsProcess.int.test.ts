import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { InstanceRuntime } from "../../src/instanceRuntime.ts"
import { send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import {
  countOf,
  orchestratedControlPlaneLayer,
  shadowOf as shadowOfClient,
  sharedTemplate,
  streamTypes,
  testTenant
} from "../support/shadowHarness.ts"

const tenant = testTenant("sp")
const instanceStream = (instanceId: string) => `instance-${tenant}.${instanceId}`

const shadowOf = (clientId: string) => shadowOfClient(tenant, clientId)

const hasEvent = (instanceId: string, type: string, times = 1) =>
  streamTypes(instanceStream(instanceId)).pipe(Effect.map((types) => countOf(types, type) >= times))

/** The same scenarios as on Docker, with shadows as local process groups. */
layer(orchestratedControlPlaneLayer(tenant, "process"), { excludeTestServices: true, timeout: "300 seconds" })("shadows as processes", (it) => {
  let instanceId = ""
  let runtimeId = ""

  it.effect("ConnectClient → a running shadow process with its limits → InstanceReady", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      assert.isTrue((yield* send(tenant, "ConnectClient", { clientId: "c1", tier: "standard", template: sharedTemplate })).ok)
      yield* eventually(shadowOf("c1").pipe(Effect.map((id) => id !== undefined)), 20_000, "a profile")
      instanceId = (yield* shadowOf("c1"))!
      yield* eventually(hasEvent(instanceId, "InstanceReady"), 90_000, "InstanceReady")
      const info = (yield* runtime.inspect({ tenant, instanceId }))!
      assert.deepInclude(info, { tenant, clientId: "c1", instanceId, role: "shadow", running: true, cpuMillis: 500, memoryMiB: 1024 })
      runtimeId = info.runtimeId
    }), 180_000)

  it.effect("SIGKILL of the shadow's process group → HeartbeatLost → one new process, InstanceRecreated once", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      process.kill(-Number(runtimeId), "SIGKILL")
      yield* eventually(hasEvent(instanceId, "InstanceRecreated"), 60_000, "InstanceRecreated")
      yield* eventually(hasEvent(instanceId, "InstanceReady", 2), 90_000, "ready again")
      const types = yield* streamTypes(instanceStream(instanceId))
      assert.strictEqual(countOf(types, "HeartbeatLost"), 1)
      assert.strictEqual(countOf(types, "InstanceRecreated"), 1)
      const mine = (yield* runtime.list({ tenant })).filter((info) => info.instanceId === instanceId)
      assert.strictEqual(mine.length, 1)
      assert.notStrictEqual(mine[0]!.runtimeId, runtimeId)
      runtimeId = mine[0]!.runtimeId
    }), 180_000)

  it.effect("RefineProfile → InstanceResized on the same process", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      assert.isTrue((yield* send(tenant, "RefineProfile", { clientId: "c1", expected: { cpuMillis: 4000, memoryMiB: 6144 }, reason: "forecast" })).ok)
      yield* eventually(
        runtime.inspect({ tenant, instanceId }).pipe(Effect.map((info) => info?.cpuMillis === 1000 && info.memoryMiB === 1536)),
        30_000,
        "the new limits"
      )
      assert.strictEqual((yield* runtime.inspect({ tenant, instanceId }))!.runtimeId, runtimeId)
      assert.isTrue(yield* hasEvent(instanceId, "InstanceResized"))
    }), 180_000)

  it.effect("a recycled shadow process is reused for the next matching client", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      assert.isTrue((yield* send(tenant, "DisconnectClient", { clientId: "c1" })).ok)
      yield* eventually(hasEvent(instanceId, "InstanceRecycled"), 30_000, "InstanceRecycled")
      assert.isTrue((yield* send(tenant, "ConnectClient", { clientId: "c2", tier: "standard", template: sharedTemplate })).ok)
      yield* eventually(hasEvent(instanceId, "InstanceClaimed"), 30_000, "InstanceClaimed")
      const all = yield* runtime.list({ tenant })
      assert.deepStrictEqual(all.map((info) => info.runtimeId), [runtimeId])
    }), 180_000)
})
