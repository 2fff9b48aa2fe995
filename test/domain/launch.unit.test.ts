import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import { decodeCommand } from "../../domain/commands.ts"
import type { ClientId, InstanceId, LaunchId } from "../../domain/ids.ts"
import { fold } from "../../domain/decider.ts"
import { isActive, isProvisioning, type LaunchEvent, launchDecider, stageOf, weightOf } from "../../domain/launch/launch.ts"
import { nextLaunch } from "../../domain/launch/launchQueue.ts"
import { defaultTrafficGates, gateBreach, remainingSteps } from "../../domain/launch/trafficGate.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"
import { launchTimeline } from "../../projections/launchTimeline.ts"
import { deciderSpec } from "../support/deciderSpec.ts"

const spec = deciderSpec(launchDecider)
const launchId = "l1" as LaunchId
const clientId = "c1" as ClientId
const plan = {
  launchId,
  shadowInstanceId: "shd-1" as InstanceId,
  productionInstanceId: "prd-1" as InstanceId,
  tier: "standard",
  template: defaultTemplate,
  network: defaultNetwork,
  resources: { cpuMillis: 2000, memoryMiB: 4096 }
} as const
const transfer = { launchId, bytes: 1024, files: 3, checksum: "a".repeat(64), ms: 40, reset: ["identity.json"] }

const requested: LaunchEvent = { _tag: "LaunchRequested", launchId, clientId, priority: 0 }
const provisioning: LaunchEvent = { ...plan, _tag: "ProvisioningStarted", clientId }
// The events the production saga reads name the client it is keyed by.
const provisioned: LaunchEvent = { _tag: "ProductionProvisioned", launchId, clientId, productionInstanceId: plan.productionInstanceId, runtimeId: "rt-9", cpuMillis: 2000, memoryMiB: 4096 }
const transferring: LaunchEvent = { _tag: "StateTransferStarted", launchId, fromInstanceId: plan.shadowInstanceId, toInstanceId: plan.productionInstanceId, paths: defaultTemplate.statePaths }
const transferred: LaunchEvent = { ...transfer, _tag: "StateTransferCompleted" }
const shifted = (weight: number, previous: number): LaunchEvent => ({ _tag: "TrafficShifted", launchId, weight, previous })
const completed: LaunchEvent = { _tag: "LaunchCompleted", launchId, clientId, productionInstanceId: plan.productionInstanceId, shadowDisposition: "recycled" }
const upTo = {
  requested: [requested],
  provisioning: [requested, provisioning],
  provisioned: [requested, provisioning, provisioned],
  transferring: [requested, provisioning, provisioned, transferring],
  transferred: [requested, provisioning, provisioned, transferring, transferred]
}
const shifting = [...upTo.transferred, shifted(5, 0), shifted(25, 5), shifted(50, 25), shifted(100, 50)]

describe("Launch", () => {
  it.effect("RequestProduction starts a launch once", () =>
    Effect.gen(function* () {
      yield* spec.given([]).when({ _tag: "RequestProduction", launchId, clientId, priority: 0 }).then([requested])
      yield* spec.given([requested]).when({ _tag: "RequestProduction", launchId, clientId, priority: 0 }).thenFails("IllegalState")
    }))

  it.effect("each stage follows the one before, and repeating the last one appends nothing (a resumed launch)", () =>
    Effect.gen(function* () {
      yield* spec.given(upTo.requested).when({ ...plan, _tag: "StartProvisioning" }).then([provisioning])
      yield* spec.given(upTo.provisioning).when({ ...plan, _tag: "StartProvisioning" }).then([])
      yield* spec.given(upTo.provisioning).when({ _tag: "RecordProductionProvisioned", launchId, runtimeId: "rt-9", cpuMillis: 2000, memoryMiB: 4096 }).then([provisioned])
      yield* spec.given(upTo.provisioned).when({ _tag: "StartStateTransfer", launchId }).then([transferring])
      yield* spec.given(upTo.transferring).when({ ...transfer, _tag: "RecordStateTransfer" }).then([transferred])
      yield* spec.given(upTo.transferred).when({ ...transfer, _tag: "RecordStateTransfer" }).then([])
      yield* spec.given(upTo.requested).when({ _tag: "StartStateTransfer", launchId }).thenFails("IllegalState")
      yield* spec.given([]).when({ ...plan, _tag: "StartProvisioning" }).thenFails("IllegalState")
    }))

  it.effect("traffic shifts forward only, after the transfer; completion needs 100 %", () =>
    Effect.gen(function* () {
      yield* spec.given(upTo.transferred).when({ _tag: "ShiftTraffic", launchId, weight: 5 }).then([shifted(5, 0)])
      yield* spec.given([...upTo.transferred, shifted(5, 0)]).when({ _tag: "ShiftTraffic", launchId, weight: 5 }).then([])
      yield* spec.given([...upTo.transferred, shifted(25, 0)]).when({ _tag: "ShiftTraffic", launchId, weight: 5 }).thenFails("IllegalState")
      yield* spec.given(upTo.provisioned).when({ _tag: "ShiftTraffic", launchId, weight: 5 }).thenFails("IllegalState")
      const complete = { _tag: "CompleteLaunch", launchId, shadowDisposition: "recycled" } as const
      yield* spec.given([...upTo.transferred, shifted(50, 0)]).when(complete).thenFails("IllegalState")
      yield* spec.given(shifting).when(complete).then([completed])
      yield* spec.given([...shifting, completed]).when({ ...complete, shadowDisposition: "terminated" }).then([])
      yield* spec.given([...shifting, completed]).when({ _tag: "RecordShadowReleased", launchId, disposition: "recycled" }).then([
        { _tag: "ShadowReleased", launchId, clientId, shadowInstanceId: plan.shadowInstanceId, disposition: "recycled" }
      ])
    }))

  it.effect("a step's readings are recorded with the shift past it, and the last step's with the completion", () =>
    Effect.gen(function* () {
      const passed = { heldMs: 10_000, traffic: { requests: 412, errors: 0, p99Ms: 38 }, heartbeatP99Ms: 4 }
      yield* spec.given([...upTo.transferred, shifted(5, 0)]).when({ _tag: "ShiftTraffic", launchId, weight: 25, passed })
        .then([{ _tag: "TrafficShifted", launchId, weight: 25, previous: 5, passed }])
      yield* spec.given(shifting).when({ _tag: "CompleteLaunch", launchId, shadowDisposition: "recycled", passed })
        .then([{ ...completed, passed }])
      const decoded = yield* decodeCommand("ShiftTraffic", { launchId, weight: 25, passed: { heldMs: -1 } }, "cmd-1")!.pipe(Effect.flip)
      assert.strictEqual(decoded._tag, "ValidationFailed", "a negative hold is not a reading")
    }))

  it.effect("TrafficShifted and LaunchCompleted stored before steps' readings were recorded still decode", () =>
    Effect.gen(function* () {
      const shift = yield* decodeEvent({ id: "e1", type: "TrafficShifted", schemaVersion: 1, data: { launchId, weight: 25, previous: 5 } })
      assert.deepStrictEqual<unknown>(shift, { _tag: "TrafficShifted", launchId, weight: 25, previous: 5 })
      const done = yield* decodeEvent({
        id: "e2",
        type: "LaunchCompleted",
        schemaVersion: 1,
        data: { launchId, clientId, productionInstanceId: "prd-1", shadowDisposition: "recycled" }
      })
      assert.isFalse("passed" in done)
    }))

  it.effect("a launch rolls back from any stage before completion, once, saying where it was", () =>
    Effect.gen(function* () {
      yield* spec.given(upTo.requested).when({ _tag: "RollBackLaunch", launchId, reason: "no shadow" }).then([
        { _tag: "LaunchRolledBack", launchId, clientId, reason: "no shadow", stage: "queued" }
      ])
      const atFive = [...upTo.transferred, shifted(5, 0)]
      yield* spec.given(atFive).when({ _tag: "RollBackLaunch", launchId, reason: "gate" }).then([
        { _tag: "LaunchRolledBack", launchId, clientId, reason: "gate", stage: "shifting" }
      ])
      const rolledBack: LaunchEvent = { _tag: "LaunchRolledBack", launchId, reason: "gate", stage: "shifting" }
      yield* spec.given([...atFive, rolledBack]).when({ _tag: "RollBackLaunch", launchId, reason: "again" }).then([])
      yield* spec.given([...atFive, rolledBack]).when({ _tag: "ShiftTraffic", launchId, weight: 25 }).thenFails("IllegalState")
      yield* spec.given([...shifting, completed]).when({ _tag: "RollBackLaunch", launchId, reason: "late" }).thenFails("IllegalState")
    }))

  it.effect("RetireProduction retires a completed launch's production once; before completion or after a rollback it is refused", () =>
    Effect.gen(function* () {
      const retire = { _tag: "RetireProduction", launchId } as const
      const retired: LaunchEvent = { _tag: "ProductionRetired", launchId, clientId, productionInstanceId: plan.productionInstanceId }
      const released: LaunchEvent = { _tag: "ShadowReleased", launchId, clientId, shadowInstanceId: plan.shadowInstanceId, disposition: "recycled" }
      yield* spec.given([...shifting, completed]).when(retire).then([retired])
      yield* spec.given([...shifting, completed, released]).when(retire).then([retired])
      yield* spec.given([...shifting, completed, released, retired]).when(retire).then([])
      yield* spec.given([]).when(retire).thenFails("IllegalState")
      yield* spec.given(upTo.transferred).when(retire).thenFails("IllegalState")
      yield* spec.given(shifting).when(retire).thenFails("IllegalState")
      yield* spec.given([...upTo.transferred, { _tag: "LaunchRolledBack", launchId, reason: "gate", stage: "transferred" }]).when(retire).thenFails("IllegalState")
      // Retired before the shadow's release was recorded: the release and the completion repeated append nothing.
      yield* spec.given([...shifting, completed, retired]).when({ _tag: "RecordShadowReleased", launchId, disposition: "recycled" }).then([])
      yield* spec.given([...shifting, completed, retired]).when({ _tag: "CompleteLaunch", launchId, shadowDisposition: "recycled" }).then([])
      yield* spec.given([...shifting, completed, retired]).when({ _tag: "RollBackLaunch", launchId, reason: "late" }).thenFails("IllegalState")
      const state = fold(launchDecider, [...shifting, completed, released, retired])
      assert.deepStrictEqual([stageOf(state), weightOf(state), isActive(state)], ["retired", 0, false])
    }))

  it("each stage carries what it has: the plan from provisioning on, the weight while shifting, a rollback's reason", () => {
    const { launchId: _, ...fixed } = plan
    const at = (events: ReadonlyArray<LaunchEvent>) => fold(launchDecider, events)
    assert.deepStrictEqual(at([]), { _tag: "Absent" })
    assert.deepStrictEqual(at(upTo.requested), { _tag: "Queued", clientId, priority: 0 })
    assert.deepStrictEqual(at(upTo.provisioning), { _tag: "Provisioning", clientId, priority: 0, plan: fixed })
    assert.deepStrictEqual(at(upTo.transferred), { _tag: "Transferred", clientId, priority: 0, plan: fixed, runtimeId: "rt-9" })
    assert.deepStrictEqual(at([...upTo.transferred, shifted(25, 0)]), { _tag: "Shifting", clientId, priority: 0, plan: fixed, runtimeId: "rt-9", weight: 25 })
    assert.deepStrictEqual(at([...shifting, completed]), { _tag: "Completed", clientId, priority: 0, plan: fixed, runtimeId: "rt-9", shadowDisposition: "recycled" })
    const completedWithoutChoice: LaunchEvent = { _tag: "LaunchCompleted", launchId, productionInstanceId: plan.productionInstanceId }
    assert.deepInclude(at([...shifting, completedWithoutChoice]), { _tag: "Completed", shadowDisposition: "terminated" }, "recorded before the choice was")
    const queuedThenRolledBack = at([requested, { _tag: "LaunchRolledBack", launchId, reason: "no shadow", stage: "queued" }])
    assert.deepStrictEqual(queuedThenRolledBack, { _tag: "RolledBack", clientId, priority: 0, plan: undefined, reason: "no shadow" })
    const shiftingThenRolledBack = at([...upTo.transferred, shifted(5, 0), { _tag: "LaunchRolledBack", launchId, reason: "gate", stage: "shifting" }])
    assert.deepStrictEqual(shiftingThenRolledBack, { _tag: "RolledBack", clientId, priority: 0, plan: fixed, reason: "gate" })
  })

  it.effect("ProductionProvisioned, LaunchCompleted and LaunchRolledBack stored before they named the client still decode", () =>
    Effect.gen(function* () {
      const old = [
        { type: "ProductionProvisioned", data: { launchId, productionInstanceId: "prd-1", runtimeId: "", cpuMillis: 1, memoryMiB: 1 } },
        { type: "LaunchCompleted", data: { launchId, productionInstanceId: "prd-1" } },
        { type: "LaunchRolledBack", data: { launchId, reason: "gate", stage: "shifting" } }
      ]
      for (const [i, { type, data }] of old.entries()) {
        const event = yield* decodeEvent({ id: `e${i}`, type, schemaVersion: 1, data })
        assert.isFalse("clientId" in event, type)
      }
    }))

  it("stage names, weights, and which launches are active or hold a provisioning slot", () => {
    const at = (events: ReadonlyArray<LaunchEvent>) => fold(launchDecider, events)
    const released: LaunchEvent = { _tag: "ShadowReleased", launchId, clientId, shadowInstanceId: plan.shadowInstanceId, disposition: "terminated" }
    const states = [[], ...Object.values(upTo), [...upTo.transferred, shifted(50, 0)], [...shifting, completed], [...shifting, completed, released]].map(at)
    assert.deepStrictEqual(states.map(stageOf), ["absent", "queued", "provisioning", "provisioned", "transferring", "transferred", "shifting", "completed", "released"])
    assert.deepStrictEqual(states.map(weightOf), [0, 0, 0, 0, 0, 0, 50, 100, 100])
    assert.deepStrictEqual(states.map(isActive), [false, true, true, true, true, true, true, false, false])
    assert.deepStrictEqual(states.map(isProvisioning), [false, true, true, true, true, false, false, false, false])
    const rolledBack = at([...upTo.transferred, shifted(5, 0), { _tag: "LaunchRolledBack", launchId, reason: "gate", stage: "shifting" }])
    assert.deepStrictEqual([stageOf(rolledBack), weightOf(rolledBack), isActive(rolledBack)], ["rolledBack", 0, false])
  })

  it.effect("a launch id defaults to the request's command id, and priority to 0", () =>
    Effect.gen(function* () {
      const commandId = "0f0e0d0c-0b0a-4000-8000-000000000001"
      const decoded = yield* decodeCommand("RequestProduction", { clientId: "c1" }, commandId)!
      assert.deepStrictEqual<unknown>(decoded, { _tag: "RequestProduction", launchId: commandId, clientId: "c1", priority: 0 })
      const named = yield* decodeCommand("RequestProduction", { clientId: "c1", launchId: "mine", priority: 7 }, commandId)!
      assert.deepStrictEqual<unknown>(named, { _tag: "RequestProduction", launchId: "mine", clientId: "c1", priority: 7 })
      const bad = yield* decodeCommand("RequestProduction", { clientId: "c1", priority: 1.5 }, commandId)!.pipe(Effect.flip)
      assert.strictEqual(bad._tag, "ValidationFailed")
    }))
})

describe("launch queue", () => {
  it("takes the highest priority first, and equal priorities in request order", () => {
    const queue = [
      { tenant: "t", launchId: "a", priority: 0, seq: 1 },
      { tenant: "t", launchId: "b", priority: 5, seq: 3 },
      { tenant: "t", launchId: "c", priority: 5, seq: 2 },
      { tenant: "t", launchId: "d", priority: -1, seq: 0 }
    ]
    assert.strictEqual(nextLaunch(queue)?.launchId, "c")
    assert.strictEqual(nextLaunch(queue.filter((l) => l.priority < 5))?.launchId, "a")
    assert.strictEqual(nextLaunch([]), undefined)
  })
})

describe("traffic gates", () => {
  it("judge a step only once it has enough requests, on error rate then p99", () => {
    assert.strictEqual(gateBreach({ requests: 10, errors: 10, p99Ms: 5 }, defaultTrafficGates), undefined)
    assert.strictEqual(gateBreach({ requests: 200, errors: 1, p99Ms: 5 }, defaultTrafficGates), undefined)
    assert.match(gateBreach({ requests: 200, errors: 3, p99Ms: 5 }, defaultTrafficGates) ?? "", /error rate 1\.5 %/)
    assert.match(gateBreach({ requests: 200, errors: 0, p99Ms: 1500 }, defaultTrafficGates) ?? "", /p99 latency 1500 ms/)
  })

  it("steps go up to 100 % from where the launch is", () => {
    assert.deepStrictEqual(remainingSteps(0, [5, 25, 50, 100]), [5, 25, 50, 100])
    assert.deepStrictEqual(remainingSteps(25, [5, 25, 50, 100]), [50, 100])
    assert.deepStrictEqual(remainingSteps(0, [50, 10]), [10, 50, 100])
    assert.deepStrictEqual(remainingSteps(100, [5, 25, 50, 100]), [])
  })
})

describe("launch timeline", () => {
  it("times every stage from the request", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, s)).toISOString()
    const timeline = launchTimeline([...upTo.transferred, shifted(5, 0)].map((event, i) => ({ at: at(i * 2), event })))!
    assert.strictEqual(timeline.stage, "shifting")
    assert.strictEqual(timeline.weight, 5)
    assert.deepStrictEqual(timeline.stages.map((s) => s.stage), ["queued", "provisioning", "provisioned", "transferring", "transferred", "weight-5"])
    assert.deepStrictEqual(timeline.stages.map((s) => s.sinceRequestMs), [0, 2000, 4000, 6000, 8000, 10000])
    assert.strictEqual(timeline.stages[3]!.sincePreviousMs, 2000)
    assert.deepStrictEqual(timeline.transfer, { bytes: 1024, files: 3, checksum: "a".repeat(64), ms: 40 })
    assert.strictEqual(timeline.productionInstanceId, "prd-1")
    assert.strictEqual(launchTimeline([]), undefined)
  })

  it("ends with production's retirement once the client disconnected", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, s)).toISOString()
    const retired: LaunchEvent = { _tag: "ProductionRetired", launchId, clientId, productionInstanceId: plan.productionInstanceId }
    const timeline = launchTimeline([...shifting, completed, retired].map((event, i) => ({ at: at(i), event })))!
    assert.strictEqual(timeline.stage, "retired")
    assert.strictEqual(timeline.weight, 0)
    assert.deepStrictEqual(timeline.stages.slice(-2).map((s) => s.stage), ["completed", "productionRetired"])
  })
})
