import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { assert } from "@effect/vitest"
import { fold } from "../../domain/decider.ts"
import type { ClientId, InstanceId, LaunchId } from "../../domain/ids.ts"
import { type InstanceEvent, instanceDecider } from "../../domain/instance/instance.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { deciderSpec } from "../support/deciderSpec.ts"

const spec = deciderSpec(instanceDecider)
const instanceId = "shd-1" as InstanceId
const clientId = "c1" as ClientId
const resources = { cpuMillis: 125, memoryMiB: 128 }
const deploy = { _tag: "DeployShadow", instanceId, clientId, tier: "basic", template: defaultTemplate, network: defaultNetwork, resources } as const
const requested: InstanceEvent = { ...deploy, _tag: "ShadowRequested" }
const started: InstanceEvent = { _tag: "InstanceStarted", instanceId, runtimeId: "rt-1" }
const ready: InstanceEvent = { _tag: "InstanceReady", instanceId, runtimeId: "rt-1" }
const lost: InstanceEvent = { _tag: "HeartbeatLost", instanceId, runtimeId: "rt-1", reason: "silent" }
const recreated: InstanceEvent = { _tag: "InstanceRecreated", instanceId, attempt: 1, runtimeId: "rt-2", previousRuntimeId: "rt-1" }
const recycled: InstanceEvent = { _tag: "InstanceRecycled", instanceId, clientId }
const terminated: InstanceEvent = { _tag: "InstanceTerminated", instanceId, reason: "done" }

const productionId = "prd-1" as InstanceId
const launchId = "l1" as LaunchId
const full = { cpuMillis: 2000, memoryMiB: 4096 }
const deployProduction = { ...deploy, _tag: "DeployProduction", instanceId: productionId, launchId, resources: full } as const
const productionRequested: InstanceEvent = { ...deployProduction, _tag: "ProductionRequested" }
const productionStarted: InstanceEvent = { _tag: "InstanceStarted", instanceId: productionId, runtimeId: "rt-p" }
const productionReady: InstanceEvent = { _tag: "InstanceReady", instanceId: productionId, runtimeId: "rt-p" }

describe("Instance", () => {
  it.effect("DeployShadow requests a shadow once", () =>
    Effect.gen(function* () {
      yield* spec.given([]).when(deploy).then([requested])
      yield* spec.given([requested]).when(deploy).thenFails("IllegalState")
    }))

  it.effect("RecordInstanceStarted follows a request, and repeats harmlessly with the same container", () =>
    Effect.gen(function* () {
      yield* spec.given([requested]).when({ _tag: "RecordInstanceStarted", instanceId, runtimeId: "rt-1" }).then([started])
      yield* spec.given([requested, started]).when({ _tag: "RecordInstanceStarted", instanceId, runtimeId: "rt-1" }).then([])
      yield* spec.given([requested, started]).when({ _tag: "RecordInstanceStarted", instanceId, runtimeId: "rt-9" }).thenFails("IllegalState")
      yield* spec.given([]).when({ _tag: "RecordInstanceStarted", instanceId, runtimeId: "rt-1" }).thenFails("IllegalState")
    }))

  it.effect("MarkInstanceReady marks a started instance once", () =>
    Effect.gen(function* () {
      yield* spec.given([requested, started]).when({ _tag: "MarkInstanceReady", instanceId }).then([ready])
      yield* spec.given([requested, started, ready]).when({ _tag: "MarkInstanceReady", instanceId }).then([])
      yield* spec.given([requested]).when({ _tag: "MarkInstanceReady", instanceId }).thenFails("IllegalState")
      yield* spec.given([requested, started, lost]).when({ _tag: "MarkInstanceReady", instanceId }).thenFails("IllegalState")
    }))

  it.effect("ResizeInstance changes the limits of a placed instance, saying why, and nothing when they are the same", () =>
    Effect.gen(function* () {
      const bigger = { cpuMillis: 500, memoryMiB: 512 }
      const reason = "observed use: cpu p90 412m of 250m, memory p90 300 MiB of 256 MiB over 5 min"
      yield* spec
        .given([requested, started, ready])
        .when({ _tag: "ResizeInstance", instanceId, resources: bigger, reason })
        .then([{ _tag: "InstanceResized", instanceId, resources: bigger, previous: resources, reason }])
      yield* spec.given([requested, started]).when({ _tag: "ResizeInstance", instanceId, resources, reason }).then([])
      // Requested: the size it will start at.
      yield* spec
        .given([requested])
        .when({ _tag: "ResizeInstance", instanceId, resources: bigger, reason })
        .then([{ _tag: "InstanceResized", instanceId, resources: bigger, previous: resources, reason }])
      yield* spec.given([]).when({ _tag: "ResizeInstance", instanceId, resources: bigger, reason }).thenFails("IllegalState")
      yield* spec.given([requested, started, terminated]).when({ _tag: "ResizeInstance", instanceId, resources: bigger, reason }).thenFails("IllegalState")
    }))

  it.effect("MarkHeartbeatLost records a loss once per run", () =>
    Effect.gen(function* () {
      yield* spec.given([requested, started, ready]).when({ _tag: "MarkHeartbeatLost", instanceId, reason: "silent" }).then([lost])
      yield* spec.given([requested, started, lost]).when({ _tag: "MarkHeartbeatLost", instanceId, reason: "again" }).then([])
      yield* spec.given([requested]).when({ _tag: "MarkHeartbeatLost", instanceId, reason: "silent" }).thenFails("IllegalState")
    }))

  it.effect("RecreateInstance replaces a lost instance, numbered, and only with the next number", () =>
    Effect.gen(function* () {
      yield* spec.given([requested, started, lost]).when({ _tag: "RecreateInstance", instanceId, attempt: 1, runtimeId: "rt-2" }).then([recreated])
      yield* spec.given([requested, started, lost]).when({ _tag: "RecreateInstance", instanceId, attempt: 2, runtimeId: "rt-2" }).thenFails("IllegalState")
      yield* spec.given([requested, started, ready]).when({ _tag: "RecreateInstance", instanceId, attempt: 1, runtimeId: "rt-2" }).thenFails("IllegalState")
      const lostAgain: InstanceEvent = { ...lost, runtimeId: "rt-2" }
      yield* spec
        .given([requested, started, lost, recreated, lostAgain])
        .when({ _tag: "RecreateInstance", instanceId, attempt: 2, runtimeId: "rt-3" })
        .then([{ _tag: "InstanceRecreated", instanceId, attempt: 2, runtimeId: "rt-3", previousRuntimeId: "rt-2" }])
    }))

  it.effect("RecordStartFailed: a refused first start or recreation leaves the instance lost, counted, for the next recreation", () =>
    Effect.gen(function* () {
      const failed = (attempt: number): InstanceEvent => ({ _tag: "InstanceStartFailed", instanceId, attempt, reason: "the runtime refused it: no such image" })
      const record = (attempt: number) => ({ _tag: "RecordStartFailed", instanceId, attempt, reason: "the runtime refused it: no such image" }) as const
      yield* spec.given([requested]).when(record(0)).then([failed(0)])
      yield* spec.given([requested]).when(record(1)).thenFails("IllegalState")
      yield* spec.given([requested, started]).when(record(0)).thenFails("IllegalState")
      // Lost after the refused start: recreation 1 is next, whether it runs or is refused too.
      yield* spec.given([requested, failed(0)]).when({ _tag: "RecreateInstance", instanceId, attempt: 1, runtimeId: "rt-1" }).then([
        { _tag: "InstanceRecreated", instanceId, attempt: 1, runtimeId: "rt-1", previousRuntimeId: "" }
      ])
      yield* spec.given([requested, failed(0)]).when(record(1)).then([failed(1)])
      yield* spec.given([requested, failed(0), failed(1)]).when(record(1)).thenFails("IllegalState")
      yield* spec.given([requested, started, lost]).when(record(1)).then([failed(1)])
      assert.deepInclude(fold(instanceDecider, [requested, failed(0), failed(1)]), { _tag: "Lost", recreations: 1, failures: 2 })
      assert.deepInclude(fold(instanceDecider, [requested, started, lost, failed(1)]), { _tag: "Lost", runtimeId: "rt-1", recreations: 1, failures: 1 })
    }))

  it.effect("RecycleInstance puts a running shadow into the pool", () =>
    Effect.gen(function* () {
      yield* spec.given([requested, started, ready]).when({ _tag: "RecycleInstance", instanceId }).then([recycled])
      yield* spec.given([requested, started, recycled]).when({ _tag: "RecycleInstance", instanceId }).then([])
      yield* spec.given([requested, started, lost]).when({ _tag: "RecycleInstance", instanceId }).thenFails("IllegalState")
    }))

  it.effect("ClaimPooledInstance hands a pooled shadow to another client, sized for it", () =>
    Effect.gen(function* () {
      const other = "c2" as ClientId
      const sized = { cpuMillis: 500, memoryMiB: 1024 }
      yield* spec
        .given([requested, started, ready, recycled])
        .when({ _tag: "ClaimPooledInstance", instanceId, clientId: other, resources: sized })
        .then([{ _tag: "InstanceClaimed", instanceId, clientId: other, previousClientId: clientId, resources: sized }])
      yield* spec.given([requested, started, ready]).when({ _tag: "ClaimPooledInstance", instanceId, clientId: other, resources: sized }).thenFails("IllegalState")
      const claimed: InstanceEvent = { _tag: "InstanceClaimed", instanceId, clientId: other, previousClientId: clientId, resources: sized }
      yield* spec.given([requested, started, recycled, claimed]).when({ _tag: "ClaimPooledInstance", instanceId, clientId: other, resources: sized }).thenFails("IllegalState")
      yield* spec.given([requested, started, recycled, claimed]).when({ _tag: "MarkInstanceReady", instanceId }).then([ready])
    }))

  it.effect("TerminateInstance ends an instance in any state, once", () =>
    Effect.gen(function* () {
      for (const history of [[requested], [requested, started], [requested, started, lost], [requested, started, recycled]]) {
        yield* spec.given(history).when({ _tag: "TerminateInstance", instanceId, reason: "done" }).then([terminated])
      }
      yield* spec.given([requested, terminated]).when({ _tag: "TerminateInstance", instanceId, reason: "done" }).then([])
      yield* spec.given([]).when({ _tag: "TerminateInstance", instanceId, reason: "done" }).thenFails("NotFound")
    }))

  it.effect("DeployProduction requests a production instance once; its role is production from then on", () =>
    Effect.gen(function* () {
      yield* spec.given([]).when(deployProduction).then([productionRequested])
      yield* spec.given([productionRequested]).when(deployProduction).thenFails("IllegalState")
      yield* spec.given([requested]).when({ ...deployProduction, instanceId }).thenFails("IllegalState")
      const state = fold(instanceDecider, [productionRequested, productionStarted])
      assert.deepInclude(state, { _tag: "Started", runtimeId: "rt-p" })
      assert.strictEqual("spec" in state && state.spec.role, "production")
      assert.strictEqual("spec" in state && state.spec.resources, full)
      const shadow = fold(instanceDecider, [requested])
      assert.strictEqual("spec" in shadow && shadow.spec.role, "shadow")
    }))

  it.effect("production lives as a shadow does: started, ready, resized, lost, recreated, terminated", () =>
    Effect.gen(function* () {
      const reason = "profile refined"
      const bigger = { cpuMillis: 4000, memoryMiB: 8192 }
      yield* spec.given([productionRequested]).when({ _tag: "RecordInstanceStarted", instanceId: productionId, runtimeId: "rt-p" }).then([productionStarted])
      yield* spec.given([productionRequested, productionStarted]).when({ _tag: "MarkInstanceReady", instanceId: productionId }).then([productionReady])
      yield* spec
        .given([productionRequested, productionStarted, productionReady])
        .when({ _tag: "ResizeInstance", instanceId: productionId, resources: bigger, reason })
        .then([{ _tag: "InstanceResized", instanceId: productionId, resources: bigger, previous: full, reason }])
      const lostProduction: InstanceEvent = { _tag: "HeartbeatLost", instanceId: productionId, runtimeId: "rt-p", reason: "silent" }
      yield* spec.given([productionRequested, productionStarted, productionReady]).when({ _tag: "MarkHeartbeatLost", instanceId: productionId, reason: "silent" }).then([lostProduction])
      // Recreated on its state: the runtime may keep the container's id.
      yield* spec
        .given([productionRequested, productionStarted, productionReady, lostProduction])
        .when({ _tag: "RecreateInstance", instanceId: productionId, attempt: 1, runtimeId: "rt-p" })
        .then([{ _tag: "InstanceRecreated", instanceId: productionId, attempt: 1, runtimeId: "rt-p", previousRuntimeId: "rt-p" }])
      yield* spec
        .given([productionRequested, productionStarted, productionReady])
        .when({ _tag: "TerminateInstance", instanceId: productionId, reason: "client disconnected" })
        .then([{ _tag: "InstanceTerminated", instanceId: productionId, reason: "client disconnected" }])
    }))

  it.effect("production never goes to the pool", () =>
    Effect.gen(function* () {
      yield* spec.given([productionRequested, productionStarted, productionReady]).when({ _tag: "RecycleInstance", instanceId: productionId }).thenFails("IllegalState")
    }))
})
