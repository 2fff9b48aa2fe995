import type { ClientId } from "../ids.ts"
import { defaultPhiAccrualConfig } from "../instance/phiAccrual.ts"
import { defaultPoolPolicy, type PoolPolicy, shouldRecycle } from "../instance/poolPolicy.ts"
import {
  type ActiveLaunch,
  type Disposition,
  isActive,
  type LaunchPlan,
  passedOf,
  type LaunchStage,
  type LaunchState,
  type LaunchStateOf,
  stageOf,
  type StepReading
} from "./launch.ts"
import type { LatencySummary } from "../instance/heartbeatLatency.ts"
import { defaultTrafficGates, gateBreach, heartbeatLatencyBreach, remainingSteps, type StepWindow, type TrafficGates } from "./trafficGate.ts"

/** How a launch moves traffic and when it gives up: the decisions' side of the launch policy. */
export interface LaunchWorkflowPolicy {
  /** Production's share at each step, in percent; 100 is always the last. */
  readonly steps: ReadonlyArray<number>
  /** How long each step holds, its gates kept, before the next. */
  readonly holdMs: number
  readonly gates: TrafficGates
  /** How long production may take from its start to its agent reporting ready. */
  readonly readyTimeoutMs: number
  /** Production silent this long during the shift counts as a lost heartbeat. */
  readonly heartbeatLostMs: number
  /** Whether a released shadow may go to the pool (the same policy the shadow saga recycles by). */
  readonly pool: PoolPolicy
}

/** Production silent for five of its heartbeat intervals has lost its heartbeat. */
export const heartbeatLostAfter = (heartbeatMs: number): number => 5 * heartbeatMs

/** The defaults of the configuration table (`UMBRA_LAUNCH_*`) and of the pool. */
export const defaultLaunchWorkflowPolicy: LaunchWorkflowPolicy = {
  steps: [5, 25, 50, 100],
  holdMs: 10_000,
  gates: defaultTrafficGates,
  readyTimeoutMs: 60_000,
  heartbeatLostMs: heartbeatLostAfter(defaultPhiAccrualConfig.expectedIntervalMs),
  pool: defaultPoolPolicy
}

/** What the runner measured while holding a step, since the step's hold began. */
export interface HoldReading {
  /** The step being held. */
  readonly weight: number
  readonly heldMs: number
  /** Since production's last heartbeat; undefined when it never beat. */
  readonly heartbeatAgeMs: number | undefined
  /** Whether production's agent said ready in its last heartbeat. */
  readonly ready: boolean
  /** Production's heartbeat round trips, as its agent measured them; undefined when it measures none. */
  readonly heartbeatLatency: LatencySummary | undefined
  /** What production served during the step, as the router measured it; undefined when the router has no figures. */
  readonly window: StepWindow | undefined
}

/** The part of a hold's reading a passed step records. */
export const stepReadingOf = (reading: HoldReading): StepReading => ({
  heldMs: reading.heldMs,
  ...(reading.window === undefined ? {} : { traffic: reading.window }),
  ...(reading.heartbeatLatency === undefined ? {} : { heartbeatP99Ms: reading.heartbeatLatency.p99Ms })
})

/** Where given, what the step before passed with. */
type Passed = { readonly passed?: StepReading }

/** What the runner saw when it performed the last action (or, first, that it read the launch's stream). */
export type LaunchObservation =
  /** The run (re)started: only the stream is known, nothing this run did. */
  | { readonly _tag: "Loaded" }
  /** The shadow and the profile production is made from. */
  | { readonly _tag: "Planned"; readonly plan: LaunchPlan }
  /** The action's result is recorded in the stream. */
  | { readonly _tag: "Recorded" }
  | { readonly _tag: "ProductionReady" }
  | { readonly _tag: "ReadyTimedOut" }
  /** The step is recorded and the router sends production `weight` percent. */
  | { readonly _tag: "Shifted"; readonly weight: number }
  | { readonly _tag: "Held"; readonly reading: HoldReading }
  /** Shadows in the pool of the launch's image and tier, before this one goes. */
  | ({ readonly _tag: "PoolCounted"; readonly size: number } & Passed)
  /** All traffic goes to production and the shadow's requests in flight are finished. */
  | { readonly _tag: "HandedOver" }
  | { readonly _tag: "RecycleRefused" }
  /** The launch cannot go on: a refusal of the runtime, the router or the transfer, or no shadow to launch from. */
  | { readonly _tag: "Failed"; readonly reason: string }
  /** A step kept failing (the store, the bus or the runtime out of reach) through all its tries. */
  | { readonly _tag: "GaveUp"; readonly step: string; readonly tries: number; readonly message: string }
  /** The end of the launch is carried out: its route and instances are as its stream says. */
  | { readonly _tag: "Settled" }
  /** The client's endpoint is closed and production is gone. */
  | { readonly _tag: "ProductionRemoved" }

/** The one thing to do next for a launch; the runner performs it and reports what it saw. */
export type LaunchAction =
  /** Find the client's shadow and profile. */
  | { readonly _tag: "Plan"; readonly clientId: ClientId }
  /** Open the client's endpoint on the router (all traffic to the shadow) and record the plan. */
  | { readonly _tag: "FixPlan"; readonly clientId: ClientId; readonly plan: LaunchPlan }
  /** Create production stopped (or adopt the container a run before a crash made) and record it. */
  | { readonly _tag: "Provision"; readonly clientId: ClientId; readonly plan: LaunchPlan }
  /** Have the shadow's agent settle and flush its state paths, and record the start of the transfer. */
  | { readonly _tag: "PrepareTransfer"; readonly plan: LaunchPlan }
  | { readonly _tag: "Transfer"; readonly plan: LaunchPlan }
  /** Start production and wait, at most `readyTimeoutMs`, for its agent to report ready. */
  | { readonly _tag: "StartProduction"; readonly plan: LaunchPlan; readonly readyTimeoutMs: number }
  /** Record the step and give production `weight` percent of the client's traffic. */
  | ({ readonly _tag: "Shift"; readonly clientId: ClientId; readonly plan: LaunchPlan; readonly weight: number } & Passed)
  /** Read production's heartbeat and the router's figures for the step until the workflow stops holding. */
  | { readonly _tag: "Hold"; readonly clientId: ClientId; readonly plan: LaunchPlan; readonly weight: number }
  /**
   * Count the pool the shadow would go to: the choice between recycling and terminating it is made once, here.
   * The last step's readings come back with the count, for the completion to record.
   */
  | ({ readonly _tag: "CountPool"; readonly plan: LaunchPlan } & Passed)
  /** Record the completion with what becomes of the shadow (and what the last step passed with). */
  | ({ readonly _tag: "Complete"; readonly plan: LaunchPlan; readonly shadowDisposition: Disposition } & Passed)
  /** All traffic to production and the shadow's requests in flight finished. */
  | { readonly _tag: "HandOver"; readonly clientId: ClientId; readonly plan: LaunchPlan }
  /** Recycle the shadow into the pool or terminate it, as the completion recorded, and record which was done. */
  | { readonly _tag: "ReleaseShadow"; readonly plan: LaunchPlan; readonly disposition: Disposition }
  /** All traffic back to the shadow, the rollback recorded, production removed. */
  | {
    readonly _tag: "RollBack"
    readonly clientId: ClientId
    readonly plan: LaunchPlan | undefined
    readonly stage: LaunchStage
    readonly reason: string
  }
  /**
   * After a restart, the endpoint of a finished launch as its end left it: production at 100 % once released,
   * the shadow after a rollback (a leftover production removed).
   */
  | { readonly _tag: "RestoreRoute"; readonly clientId: ClientId; readonly plan: LaunchPlan; readonly to: "production" | "shadow" }
  /** Close the client's endpoint (requests in flight finish) and remove production with its state. */
  | { readonly _tag: "RemoveProduction"; readonly clientId: ClientId; readonly plan: LaunchPlan }
  | { readonly _tag: "Done" }

/** A step's hold: still going, passed, or broken with a reason. */
export type HoldVerdict =
  | { readonly _tag: "Holding" }
  | { readonly _tag: "Passed"; readonly passed: StepReading }
  | { readonly _tag: "Breached"; readonly reason: string }

/** Production must keep beating, stay ready and keep the gates for the whole hold. */
export const judgeHold = (reading: HoldReading, policy: LaunchWorkflowPolicy): HoldVerdict => {
  const age = reading.heartbeatAgeMs
  if (age === undefined || age > policy.heartbeatLostMs) {
    return { _tag: "Breached", reason: `production heartbeat lost (silent for ${age ?? "ever"} ms)` }
  }
  // The router's figures for real traffic say more than a readiness probe, which can time out under load.
  const breach = reading.window === undefined ? undefined : gateBreach(reading.window, policy.gates)
  if (breach !== undefined) return { _tag: "Breached", reason: breach }
  const slowNetwork = heartbeatLatencyBreach(reading.heartbeatLatency, policy.gates)
  if (slowNetwork !== undefined) return { _tag: "Breached", reason: slowNetwork }
  if (!reading.ready) return { _tag: "Breached", reason: "production's agent reports not ready" }
  return reading.heldMs >= policy.holdMs ? { _tag: "Passed", passed: stepReadingOf(reading) } : { _tag: "Holding" }
}

/** The longest reason a rollback records. */
const maxReasonLength = 512

const done: LaunchAction = { _tag: "Done" }

const rollBack = (state: ActiveLaunch, reason: string): LaunchAction => ({
  _tag: "RollBack",
  clientId: state.clientId,
  plan: "plan" in state ? state.plan : undefined,
  stage: stageOf(state),
  reason: reason.slice(0, maxReasonLength)
})

/**
 * The launch as a workflow: from its state (read from its stream before every step) and what the last action
 * was seen to do, the next action. Pure, so every path is tested without infrastructure; a resumed launch
 * starts from `Loaded` and repeats nothing its stream says is done.
 */
export const launchWorkflow = (policy: LaunchWorkflowPolicy) => {
  const shifting = (state: LaunchStateOf<"Transferred" | "Shifting">, observation: LaunchObservation): LaunchAction => {
    const current = state._tag === "Shifting" ? state.weight : 0
    const { clientId, plan } = state
    const shift = (weight: number, passed?: StepReading): LaunchAction => ({ _tag: "Shift", clientId, plan, weight, ...passedOf(passed) })
    const hold: LaunchAction = { _tag: "Hold", clientId, plan, weight: current }
    switch (observation._tag) {
      case "ReadyTimedOut":
        return rollBack(state, `production did not report ready within ${policy.readyTimeoutMs} ms`)
      case "ProductionReady":
        // A resumed launch sets its current step again (the router lost it) and holds it again.
        return shift(current > 0 ? current : (remainingSteps(0, policy.steps)[0] ?? 100))
      case "Shifted":
        if (observation.weight === current) return hold
        break
      case "Held": {
        if (observation.reading.weight !== current) break
        const verdict = judgeHold(observation.reading, policy)
        switch (verdict._tag) {
          case "Holding":
            return hold
          case "Breached":
            return rollBack(state, verdict.reason)
          case "Passed": {
            const next = remainingSteps(current, policy.steps)[0]
            return next === undefined ? { _tag: "CountPool", plan, passed: verdict.passed } : shift(next, verdict.passed)
          }
        }
        break
      }
      case "PoolCounted":
        if (current !== 100) break
        return {
          _tag: "Complete",
          plan,
          shadowDisposition: shouldRecycle(policy.pool, observation.size) ? "recycled" : "terminated",
          ...passedOf(observation.passed)
        }
    }
    // Nothing this run did says production is up: start it (again) and wait for it to be ready.
    return { _tag: "StartProduction", plan, readyTimeoutMs: policy.readyTimeoutMs }
  }

  const decide = (state: LaunchState, observation: LaunchObservation): LaunchAction => {
    // Whatever failed, an unfinished launch gives the client back to its shadow.
    if (observation._tag === "Failed" && isActive(state)) return rollBack(state, observation.reason)
    if (observation._tag === "GaveUp") {
      // A finished launch keeps its end (production, or the shadow); what is left of it is done after a restart.
      return isActive(state)
        ? rollBack(state, `could not go on: ${observation.step} failed ${observation.tries} times in a row (${observation.message})`)
        : done
    }
    switch (state._tag) {
      case "Absent":
        return done
      case "Queued":
        return observation._tag === "Planned"
          ? { _tag: "FixPlan", clientId: state.clientId, plan: observation.plan }
          : { _tag: "Plan", clientId: state.clientId }
      case "Provisioning":
        return { _tag: "Provision", clientId: state.clientId, plan: state.plan }
      case "Provisioned":
        return { _tag: "PrepareTransfer", plan: state.plan }
      case "Transferring":
        return { _tag: "Transfer", plan: state.plan }
      case "Transferred":
      case "Shifting":
        return shifting(state, observation)
      case "Completed":
        // The recorded choice, whatever the pool holds now (it may hold this very shadow, recycled before a crash).
        if (observation._tag === "HandedOver") return { _tag: "ReleaseShadow", plan: state.plan, disposition: state.shadowDisposition }
        // A refused recycling recycled nothing: terminating is still the one release of the shadow.
        if (observation._tag === "RecycleRefused") return { _tag: "ReleaseShadow", plan: state.plan, disposition: "terminated" }
        return { _tag: "HandOver", clientId: state.clientId, plan: state.plan }
      case "Released":
        return observation._tag === "Settled" ? done : { _tag: "RestoreRoute", clientId: state.clientId, plan: state.plan, to: "production" }
      case "Retired":
        // Done only once this run saw the removal: a release's Settled, or a restart, still removes production.
        return observation._tag === "ProductionRemoved" ? done : { _tag: "RemoveProduction", clientId: state.clientId, plan: state.plan }
      case "RolledBack":
        // Failed while queued: there is no production and the route never changed.
        if (observation._tag === "Settled" || state.plan === undefined) return done
        return { _tag: "RestoreRoute", clientId: state.clientId, plan: state.plan, to: "shadow" }
    }
  }

  return { decide }
}

export type LaunchWorkflow = ReturnType<typeof launchWorkflow>
