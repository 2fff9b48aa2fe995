import { assert, describe, it } from "@effect/vitest"
import { fold } from "../../domain/decider.ts"
import type { ClientId, InstanceId, LaunchId } from "../../domain/ids.ts"
import { type Disposition, type LaunchEvent, type LaunchPlan, type LaunchStage, launchDecider, passedOf, type StepReading } from "../../domain/launch/launch.ts"
import {
  defaultLaunchWorkflowPolicy,
  type HoldReading,
  judgeHold,
  type LaunchAction,
  type LaunchObservation,
  launchWorkflow,
  type LaunchWorkflowPolicy
} from "../../domain/launch/launchWorkflow.ts"
import { defaultNetwork, defaultTemplate } from "../../domain/profile/template.ts"

const launchId = "l1" as LaunchId
const clientId = "c1" as ClientId
const plan: LaunchPlan = {
  shadowInstanceId: "shd-1" as InstanceId,
  productionInstanceId: "prd-1" as InstanceId,
  tier: "standard",
  template: defaultTemplate,
  network: defaultNetwork,
  resources: { cpuMillis: 2000, memoryMiB: 4096 }
}
const policy: LaunchWorkflowPolicy = { ...defaultLaunchWorkflowPolicy, pool: { size: 2 } }

const requested: LaunchEvent = { _tag: "LaunchRequested", launchId, clientId, priority: 0 }
const provisioning: LaunchEvent = { ...plan, _tag: "ProvisioningStarted", launchId, clientId }
const provisioned: LaunchEvent = { _tag: "ProductionProvisioned", launchId, productionInstanceId: plan.productionInstanceId, runtimeId: "rt-9", cpuMillis: 2000, memoryMiB: 4096 }
const transferring: LaunchEvent = { _tag: "StateTransferStarted", launchId, fromInstanceId: plan.shadowInstanceId, toInstanceId: plan.productionInstanceId, paths: defaultTemplate.statePaths }
const transferred: LaunchEvent = { _tag: "StateTransferCompleted", launchId, bytes: 1024, files: 3, checksum: "a".repeat(64), ms: 40, reset: [] }
const shifted = (weight: number, previous: number, passed?: StepReading): LaunchEvent => ({
  _tag: "TrafficShifted",
  launchId,
  weight,
  previous,
  ...passedOf(passed)
})
const completedWith = (shadowDisposition: Disposition): LaunchEvent => ({ _tag: "LaunchCompleted", launchId, productionInstanceId: plan.productionInstanceId, shadowDisposition })
const completed = completedWith("recycled")
const released: LaunchEvent = { _tag: "ShadowReleased", launchId, clientId, shadowInstanceId: plan.shadowInstanceId, disposition: "recycled" }
const rolledBack = (stage: LaunchStage): LaunchEvent => ({ _tag: "LaunchRolledBack", launchId, reason: "gate", stage })
const upTo = {
  queued: [requested],
  provisioning: [requested, provisioning],
  provisioned: [requested, provisioning, provisioned],
  transferring: [requested, provisioning, provisioned, transferring],
  transferred: [requested, provisioning, provisioned, transferring, transferred]
}
const atWeight = (weight: number) => [...upTo.transferred, ...[5, 25, 50, 100].filter((w) => w <= weight).map((w, i, all) => shifted(w, all[i - 1] ?? 0))]

// Observations
const loaded: LaunchObservation = { _tag: "Loaded" }
const recorded: LaunchObservation = { _tag: "Recorded" }
const ready: LaunchObservation = { _tag: "ProductionReady" }
const settled: LaunchObservation = { _tag: "Settled" }
const handedOver: LaunchObservation = { _tag: "HandedOver" }
const poolOf = (size: number, passed?: StepReading): LaunchObservation => ({ _tag: "PoolCounted", size, ...passedOf(passed) })
const failed = (reason: string): LaunchObservation => ({ _tag: "Failed", reason })
const shiftedTo = (weight: number): LaunchObservation => ({ _tag: "Shifted", weight })
/** A reading of a healthy step: beating, ready, a clean window. */
const reading = (weight: number, heldMs: number, change: Partial<HoldReading> = {}): HoldReading => ({
  weight,
  heldMs,
  heartbeatAgeMs: 200,
  ready: true,
  heartbeatLatency: { lastMs: 2, p50Ms: 2, p99Ms: 5, samples: 64 },
  window: { requests: 500, errors: 0, p99Ms: 40 },
  ...change
})
const held = (weight: number, heldMs: number, change: Partial<HoldReading> = {}): LaunchObservation => ({ _tag: "Held", reading: reading(weight, heldMs, change) })
const passed = (weight: number) => held(weight, policy.holdMs)
/** What a healthy step held for the policy's hold passes with. */
const healthy: StepReading = { heldMs: policy.holdMs, traffic: { requests: 500, errors: 0, p99Ms: 40 }, heartbeatP99Ms: 5 }

// Actions
const shift = (weight: number, passed?: StepReading): LaunchAction => ({ _tag: "Shift", clientId, plan, weight, ...passedOf(passed) })
const hold = (weight: number): LaunchAction => ({ _tag: "Hold", clientId, plan, weight })
const startProduction: LaunchAction = { _tag: "StartProduction", plan, readyTimeoutMs: policy.readyTimeoutMs }
const countPool: LaunchAction = { _tag: "CountPool", plan, passed: healthy }
const complete = (shadowDisposition: Disposition, passed?: StepReading): LaunchAction => ({
  _tag: "Complete",
  plan,
  shadowDisposition,
  ...passedOf(passed)
})
const release = (disposition: Disposition): LaunchAction => ({ _tag: "ReleaseShadow", plan, disposition })
const done: LaunchAction = { _tag: "Done" }
const rollBack = (stage: LaunchStage, reason: string, withPlan: { readonly plan: LaunchPlan | undefined } = { plan }): LaunchAction => ({
  _tag: "RollBack",
  clientId,
  plan: withPlan.plan,
  stage,
  reason
})

/**
 * given(events).when(observation).then(action), and `.recording(events)` for what performing the action
 * appended, so one specification walks a whole launch the way the runner does.
 */
const given = (history: ReadonlyArray<LaunchEvent>, workflow = launchWorkflow(policy)) => {
  const events = [...history]
  const spec = {
    when: (observation: LaunchObservation) => ({
      then: (expected: LaunchAction, ...recording: ReadonlyArray<LaunchEvent>) => {
        assert.deepStrictEqual(workflow.decide(fold(launchDecider, events), observation), expected)
        events.push(...recording)
        return spec
      }
    })
  }
  return spec
}

describe("launch workflow", () => {
  it("the happy path: plan, provision, transfer, start, 5 → 25 → 50 → 100 %, complete, recycle the shadow, done", () => {
    given(upTo.queued)
      .when(loaded).then({ _tag: "Plan", clientId })
      .when({ _tag: "Planned", plan }).then({ _tag: "FixPlan", clientId, plan }, provisioning)
      .when(recorded).then({ _tag: "Provision", clientId, plan }, provisioned)
      .when(recorded).then({ _tag: "PrepareTransfer", plan }, transferring)
      .when(recorded).then({ _tag: "Transfer", plan }, transferred)
      .when(recorded).then(startProduction)
      .when(ready).then(shift(5), shifted(5, 0))
      .when(shiftedTo(5)).then(hold(5))
      .when(held(5, policy.holdMs - 1)).then(hold(5))
      .when(passed(5)).then(shift(25, healthy), shifted(25, 5, healthy))
      .when(shiftedTo(25)).then(hold(25))
      .when(passed(25)).then(shift(50, healthy), shifted(50, 25, healthy))
      .when(shiftedTo(50)).then(hold(50))
      .when(passed(50)).then(shift(100, healthy), shifted(100, 50, healthy))
      .when(shiftedTo(100)).then(hold(100))
      .when(passed(100)).then(countPool)
      .when(poolOf(0, healthy)).then(complete("recycled", healthy), completed)
      .when(recorded).then({ _tag: "HandOver", clientId, plan })
      .when(handedOver).then(release("recycled"), released)
      .when(settled).then(done)
  })

  it("the steps come from the policy, in order, and always end at 100 %", () => {
    const custom = launchWorkflow({ ...policy, steps: [50, 10] })
    given(upTo.transferred, custom)
      .when(ready).then(shift(10), shifted(10, 0))
      .when(passed(10)).then(shift(50, healthy), shifted(50, 10))
      .when(passed(50)).then(shift(100, healthy), shifted(100, 50))
      .when(passed(100)).then(countPool)
  })

  it("a gate breached during a step rolls back with the gate's reason, then is done", () => {
    const breached = held(5, 100, { window: { requests: 100, errors: 10, p99Ms: 40 } })
    const action = launchWorkflow(policy).decide(fold(launchDecider, atWeight(5)), breached)
    assert.strictEqual(action._tag, "RollBack")
    if (action._tag === "RollBack") {
      assert.match(action.reason, /error rate 10\.0 % over 100 requests/)
      assert.deepStrictEqual({ ...action, reason: "" }, rollBack("shifting", ""))
    }
    given(atWeight(25))
      .when(held(25, 100, { window: { requests: 100, errors: 0, p99Ms: 1500 } }))
      .then(rollBack("shifting", "p99 latency 1500 ms is above the gate of 1000 ms"), rolledBack("shifting"))
      .when(settled).then(done)
  })

  it("a lost heartbeat or an agent no longer ready rolls back", () => {
    given(atWeight(50)).when(held(50, 100, { heartbeatAgeMs: policy.heartbeatLostMs + 1 }))
      .then(rollBack("shifting", `production heartbeat lost (silent for ${policy.heartbeatLostMs + 1} ms)`))
    given(atWeight(50)).when(held(50, 100, { heartbeatAgeMs: undefined }))
      .then(rollBack("shifting", "production heartbeat lost (silent for ever ms)"))
    given(atWeight(5)).when(held(5, 100, { ready: false })).then(rollBack("shifting", "production's agent reports not ready"))
  })

  it("production's heartbeat round trips above the gate roll back; an agent that measures none is not judged by them", () => {
    const slow = { lastMs: 1_500, p50Ms: 1_200, p99Ms: 1_800, samples: 16 }
    given(atWeight(25))
      .when(held(25, 100, { heartbeatLatency: slow }))
      .then(rollBack("shifting", "heartbeat round trip p99 1800 ms over 16 heartbeats is above the gate of 1000 ms"), rolledBack("shifting"))
    assert.deepStrictEqual(judgeHold(reading(5, policy.holdMs, { heartbeatLatency: undefined }), policy), {
      _tag: "Passed",
      passed: { heldMs: policy.holdMs, traffic: healthy.traffic! }
    })
  })

  it("production not ready in time, or a failure to start it, rolls back before any traffic moves", () => {
    given(upTo.transferred).when({ _tag: "ReadyTimedOut" })
      .then(rollBack("transferred", `production did not report ready within ${policy.readyTimeoutMs} ms`))
    given(upTo.transferred).when(failed("production did not start: no such image")).then(rollBack("transferred", "production did not start: no such image"))
    given(atWeight(25)).when({ _tag: "ReadyTimedOut" })
      .then(rollBack("shifting", `production did not report ready within ${policy.readyTimeoutMs} ms`))
  })

  it("a failure while planning, provisioning or transferring rolls back from that stage, with the plan if there is one", () => {
    given(upTo.queued).when(failed("client c1 has no shadow to launch from"))
      .then(rollBack("queued", "client c1 has no shadow to launch from", { plan: undefined }), rolledBack("queued"))
      .when(settled).then(done)
    given(upTo.provisioning).when(failed("provisioning failed: out of memory")).then(rollBack("provisioning", "provisioning failed: out of memory"))
    given(upTo.transferring).when(failed("state transfer failed (too-large): 2 GiB")).then(rollBack("transferring", "state transfer failed (too-large): 2 GiB"))
  })

  it("a rollback's reason is cut to what the event keeps", () => {
    const action = launchWorkflow(policy).decide(fold(launchDecider, upTo.provisioned), failed("x".repeat(600)))
    assert.strictEqual(action._tag === "RollBack" ? action.reason.length : 0, 512)
  })

  it("resumed in a stage, a launch does that stage's step again and nothing before it", () => {
    given(upTo.queued).when(loaded).then({ _tag: "Plan", clientId })
    given(upTo.provisioning).when(loaded).then({ _tag: "Provision", clientId, plan })
    given(upTo.provisioned).when(loaded).then({ _tag: "PrepareTransfer", plan })
    given(upTo.transferring).when(loaded).then({ _tag: "Transfer", plan })
    given(upTo.transferred).when(loaded).then(startProduction)
    given([...atWeight(100), completed]).when(loaded).then({ _tag: "HandOver", clientId, plan })
    given([]).when(loaded).then(done)
  })

  it("resumed while shifting, it starts production, sets the current step again and holds it again before going on", () => {
    given(atWeight(25))
      .when(loaded).then(startProduction)
      .when(ready).then(shift(25))
      .when(shiftedTo(25)).then(hold(25))
      .when(passed(25)).then(shift(50, healthy))
  })

  it("an observation that does not fit the stream starts the shift over from what the stream says", () => {
    given(atWeight(25)).when(shiftedTo(5)).then(startProduction)
    given(atWeight(25)).when(passed(5)).then(startProduction)
    given(atWeight(25)).when(recorded).then(startProduction)
  })

  it("the completion records the shadow's end: recycled while the pool has room, else terminated", () => {
    given(atWeight(100)).when(poolOf(1)).then(complete("recycled"))
    given(atWeight(100)).when(poolOf(2)).then(complete("terminated"))
    given(atWeight(100), launchWorkflow({ ...policy, pool: { size: 0 } })).when(poolOf(0)).then(complete("terminated"))
    given(atWeight(50)).when(poolOf(0)).then(startProduction)
  })

  it("a release carries out the recorded choice once, however the pool changed; a refused recycling terminates the shadow", () => {
    given([...atWeight(100), completedWith("terminated")]).when(handedOver).then(release("terminated"))
    given([...atWeight(100), completed]).when(handedOver).then(release("recycled"))
    given([...atWeight(100), completed]).when({ _tag: "RecycleRefused" }).then(release("terminated"))
    // Resumed after a crash between recycling the shadow and recording it: the pool now holds that very shadow.
    given([...atWeight(100), completed])
      .when(loaded).then({ _tag: "HandOver", clientId, plan })
      .when(handedOver).then(release("recycled"))
  })

  it("a step that fails through all its tries rolls an unfinished launch back, saying it could not go on", () => {
    const gaveUp = (step: string): LaunchObservation => ({ _tag: "GaveUp", step, tries: 31, message: "event store unavailable" })
    given(atWeight(25))
      .when(gaveUp("Hold"))
      .then(rollBack("shifting", "could not go on: Hold failed 31 times in a row (event store unavailable)"), rolledBack("shifting"))
      .when(settled).then(done)
    given(upTo.queued).when(gaveUp("Plan"))
      .then(rollBack("queued", "could not go on: Plan failed 31 times in a row (event store unavailable)", { plan: undefined }))
    given(upTo.transferred).when(gaveUp("StartProduction"))
      .then(rollBack("transferred", "could not go on: StartProduction failed 31 times in a row (event store unavailable)"))
    // A finished launch keeps its end: production serves, the rest is done after a restart.
    given([...atWeight(100), completed]).when(gaveUp("ReleaseShadow")).then(done)
    given([...atWeight(5), rolledBack("shifting")]).when(gaveUp("RestoreRoute")).then(done)
  })

  it("after a restart a finished launch restores its route: production once released, the shadow after a rollback", () => {
    given([...atWeight(100), completed, released])
      .when(loaded).then({ _tag: "RestoreRoute", clientId, plan, to: "production" })
      .when(settled).then(done)
    given([...atWeight(5), rolledBack("shifting")])
      .when(loaded).then({ _tag: "RestoreRoute", clientId, plan, to: "shadow" })
      .when(settled).then(done)
    given([...upTo.queued, rolledBack("queued")]).when(loaded).then(done)
  })
})

describe("a retired launch", () => {
  const retired: LaunchEvent = { _tag: "ProductionRetired", launchId, clientId, productionInstanceId: plan.productionInstanceId }
  const removeProduction: LaunchAction = { _tag: "RemoveProduction", clientId, plan }
  const removed: LaunchObservation = { _tag: "ProductionRemoved" }

  it("closes the client's endpoint and removes production, then is done; after a restart it does so again (removing what is gone is harmless)", () => {
    given([...atWeight(100), completed, released, retired])
      .when(loaded).then(removeProduction)
      .when(removed).then(done)
    // What a release's run saw says nothing of production: a launch retired meanwhile still removes it.
    given([...atWeight(100), completed, released, retired]).when(settled).then(removeProduction)
  })

  it("retired between the completion and the shadow's release, removes production once the release step ends", () => {
    given([...atWeight(100), completed])
      .when(loaded).then({ _tag: "HandOver", clientId, plan }, retired)
      .when(handedOver).then(removeProduction)
    given([...atWeight(100), completed, retired]).when(settled).then(removeProduction)
  })

  it("a removal failing through all its tries leaves the rest to the next start", () => {
    given([...atWeight(100), completed, retired])
      .when({ _tag: "GaveUp", step: "RemoveProduction", tries: 31, message: "runtime unavailable" }).then(done)
  })
})

describe("a step's hold", () => {
  it("passes once held long enough with production beating, ready and inside the gates", () => {
    assert.deepStrictEqual(judgeHold(reading(5, policy.holdMs - 1), policy), { _tag: "Holding" })
    assert.deepStrictEqual(judgeHold(reading(5, policy.holdMs), policy), { _tag: "Passed", passed: healthy }, "with the readings it passed with")
    assert.deepStrictEqual(
      judgeHold(reading(5, policy.holdMs, { window: undefined }), policy),
      { _tag: "Passed", passed: { heldMs: policy.holdMs, heartbeatP99Ms: 5 } },
      "no figures: nothing to judge, and none recorded"
    )
  })

  it("judges rate and latency only once the step has enough requests", () => {
    const few = { requests: policy.gates.minRequests - 1, errors: policy.gates.minRequests - 1, p99Ms: 5_000 }
    assert.deepStrictEqual(judgeHold(reading(5, 10, { window: few }), policy), { _tag: "Holding" })
    assert.strictEqual(judgeHold(reading(5, 10, { window: { ...few, requests: policy.gates.minRequests } }), policy)._tag, "Breached")
  })

  it("a lost heartbeat comes before the gates, and the gates before readiness", () => {
    const everything = { heartbeatAgeMs: undefined, ready: false, window: { requests: 100, errors: 100, p99Ms: 5_000 } }
    assert.match(reason(judgeHold(reading(5, 10, everything), policy)), /heartbeat lost/)
    assert.match(reason(judgeHold(reading(5, 10, { ...everything, heartbeatAgeMs: 0 }), policy)), /error rate/)
    assert.match(reason(judgeHold(reading(5, 10, { ...everything, heartbeatAgeMs: 0, window: { requests: 100, errors: 0, p99Ms: 5 } }), policy)), /not ready/)
  })

  it("a heartbeat exactly as old as the limit still counts", () => {
    assert.deepStrictEqual(judgeHold(reading(5, 10, { heartbeatAgeMs: policy.heartbeatLostMs }), policy), { _tag: "Holding" })
  })
})

const reason = (verdict: ReturnType<typeof judgeHold>) => (verdict._tag === "Breached" ? verdict.reason : "")
