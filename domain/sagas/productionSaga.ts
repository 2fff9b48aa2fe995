import { Schema } from "effect"
import type { DomainCommand } from "../commands.ts"
import { type ClientId, InstanceId, LaunchId } from "../ids.ts"
import type { LaunchPlan, LaunchStage } from "../launch/launch.ts"
import type { Saga, SagaInput, SagaStep } from "./saga.ts"

/** The client's production instance, as this saga deployed it, and the launch that made it. */
export const CurrentProduction = Schema.Struct({ instanceId: InstanceId, launchId: LaunchId })
export type CurrentProduction = typeof CurrentProduction.Type

/** The client's newest launch, whether the client is gone, and its production instance: from the steps this saga recorded. */
export const ProductionSagaState = Schema.Struct({
  newestLaunch: Schema.optional(LaunchId),
  disconnected: Schema.optional(Schema.Boolean),
  production: Schema.optional(CurrentProduction)
})
export type ProductionSagaState = typeof ProductionSagaState.Type

/** Which launch the runner looks up. */
export interface LaunchLookup {
  readonly launchId: LaunchId
}

/** A launch as the runner found it: its stage, its plan (from provisioning on) and production's runtime id once it runs. */
export interface LaunchView {
  readonly stage: LaunchStage
  readonly plan: LaunchPlan | undefined
  /** Production's container (or process) id, looked up once the launch has completed. */
  readonly productionRuntimeId: string | undefined
}

/** The stages in which a launch has a production instance serving the client. */
const serving: ReadonlyArray<LaunchStage> = ["completed", "released"]
/** The stages after which a launch's production is gone (or going): it is not deployed as an instance any more. */
const ended: ReadonlyArray<LaunchStage> = ["rolledBack", "retired"]

/**
 * The launch whose stage decides retirement, when the client is gone after this event: the event's own
 * launch, or the newest one known. The saga reads its categories on consumers of their own, so a redelivered
 * LaunchRequested may come after the client's disconnection, and ShadowReleased before it: whichever arrives
 * last, with the client gone and a launch known, looks the stage up.
 */
const launchToRetire = (event: SagaStep["event"], state: ProductionSagaState): LaunchId | undefined => {
  switch (event._tag) {
    case "ClientDisconnected":
      return state.newestLaunch
    case "LaunchRequested":
    case "ShadowReleased":
      return state.disconnected === true ? event.launchId : undefined
    default:
      return undefined
  }
}

/** The launch an event asks the runner to look up: for retirement, or to deploy or start its production. */
const launchToLookUp = (event: SagaStep["event"], state: ProductionSagaState): LaunchId | undefined => {
  switch (event._tag) {
    case "ProductionProvisioned":
      return event.launchId
    case "LaunchCompleted":
      return state.production?.launchId === event.launchId ? event.launchId : undefined
    default:
      return launchToRetire(event, state)
  }
}

const terminate = (production: CurrentProduction, reason: string): DomainCommand => ({ _tag: "TerminateInstance", instanceId: production.instanceId, reason })

/** Production's instance of the launch, if this saga deployed it. */
const productionOf = (state: ProductionSagaState, launchId: LaunchId) => (state.production?.launchId === launchId ? state.production : undefined)

/** Production's instance starts (and is watched) once its launch has completed and its runtime id is known. */
const started = (instanceId: InstanceId, view: LaunchView | undefined): ReadonlyArray<DomainCommand> =>
  view !== undefined && serving.includes(view.stage) && view.productionRuntimeId !== undefined && view.productionRuntimeId !== ""
    ? [{ _tag: "RecordInstanceStarted", instanceId, runtimeId: view.productionRuntimeId }]
    : []

const deploy = (clientId: ClientId, launchId: LaunchId, plan: LaunchPlan, state: ProductionSagaState, view: LaunchView): ReadonlyArray<DomainCommand> => {
  // A client has one production: one a launch before left behind goes first.
  const leftover = state.production !== undefined && state.production.instanceId !== plan.productionInstanceId
    ? [terminate(state.production, `launch ${launchId} made the client's production anew`)]
    : []
  const { productionInstanceId, tier, template, network, resources } = plan
  return [
    ...leftover,
    { _tag: "DeployProduction", instanceId: productionInstanceId, launchId, clientId, tier, template, network, resources },
    // Provisioned seen only after the completion (the launch's consumer delivers out of order): started at once.
    ...started(productionInstanceId, view)
  ]
}

const decide = ({ event, view }: SagaInput<LaunchView>, state: ProductionSagaState): ReadonlyArray<DomainCommand> => {
  switch (event._tag) {
    case "ProductionProvisioned":
      if (event.clientId === undefined || view?.plan === undefined || ended.includes(view.stage)) return []
      return deploy(event.clientId, event.launchId, view.plan, state, view)
    case "LaunchCompleted": {
      const production = productionOf(state, event.launchId)
      return production === undefined ? [] : started(production.instanceId, view)
    }
    case "LaunchRolledBack": {
      const production = productionOf(state, event.launchId)
      return production === undefined ? [] : [terminate(production, "its launch rolled back")]
    }
    case "ProfileRefined":
      return state.production === undefined
        ? []
        : [
            {
              _tag: "ResizeInstance",
              instanceId: state.production.instanceId,
              resources: { cpuMillis: event.expected.cpuMillis, memoryMiB: event.expected.memoryMiB },
              // The profile's own reason may already fill what a reason may hold.
              reason: `profile refined (${event.source}), production at full size: ${event.reason}`.slice(0, 512)
            }
          ]
    default: {
      const launchId = launchToRetire(event, state)
      if (launchId === undefined || view === undefined || !serving.includes(view.stage)) return []
      const production = productionOf(state, launchId)
      // The instance first: unwatched before its container goes, so that its silence is not taken for a loss.
      return [...(production === undefined ? [] : [terminate(production, "client disconnected")]), { _tag: "RetireProduction", launchId }]
    }
  }
}

/**
 * Production's lifecycle for one client, as a decider. ProductionProvisioned → DeployProduction (the launch's
 * plan looked up; a client's earlier production terminated first); LaunchCompleted → RecordInstanceStarted
 * (from then on the watchdog watches it and the instance runner recreates it); ProfileRefined → ResizeInstance
 * at the profile's full size; LaunchRolledBack → TerminateInstance. Once the client has disconnected (and not
 * connected again): TerminateInstance and RetireProduction for its launch if that launch is serving
 * (completed, or its shadow released), its stage looked up; a launch still under way then retires its
 * production once it has released the shadow. Sending any of these twice appends nothing.
 */
export const productionSaga: Saga<ProductionSagaState, LaunchLookup, LaunchView> = {
  name: "production",
  categories: ["client", "launch", "profile"],
  handles: [
    "LaunchRequested",
    "ClientConnected",
    "ClientDisconnected",
    "ShadowReleased",
    "ProductionProvisioned",
    "LaunchCompleted",
    "LaunchRolledBack",
    "ProfileRefined"
  ],
  keyOf: (event) => ("clientId" in event ? event.clientId ?? "" : ""),
  initialState: {},
  evolve: (state, step: SagaStep) => {
    let next: ProductionSagaState = state
    switch (step.event._tag) {
      case "ClientConnected":
        next = { ...state, disconnected: false }
        break
      case "ClientDisconnected":
        next = { ...state, disconnected: true }
        break
      case "LaunchRequested":
        next = { ...state, newestLaunch: step.event.launchId }
        break
    }
    for (const { command } of step.commands) {
      if (command._tag === "DeployProduction") next = { ...next, production: { instanceId: command.instanceId, launchId: command.launchId } }
      else if (command._tag === "TerminateInstance" && command.instanceId === next.production?.instanceId) next = { ...next, production: undefined }
    }
    return next
  },
  // Version 2: the state knows the client's production instance.
  snapshot: { version: 2, schema: ProductionSagaState },
  lookup: (event, state) => {
    const launchId = launchToLookUp(event, state)
    return launchId === undefined ? undefined : { launchId }
  },
  decide
}
