import { Effect, Schema } from "effect"
import type { Aggregate, Decider } from "../decider.ts"
import { IllegalState } from "../errors.ts"
import { ClientId, InstanceId, LaunchId } from "../ids.ts"
import { ShadowResources } from "../instance/sizingPolicy.ts"
import { Tier } from "../profile/resources.ts"
import { Network, Template } from "../profile/template.ts"

/** The container or process id; empty where the runtime has none before the start (a process not yet spawned). */
const RuntimeId = Schema.String.check(Schema.isMaxLength(128))
const Reason = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(512))
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
/** Higher goes first; equal priorities go in the order they were requested. */
export const Priority = Schema.Int.check(Schema.isBetween({ minimum: -1000, maximum: 1000 }))
/** Production's share of the client's traffic, in percent. */
export const Weight = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100 }))
const Checksum = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/))

/** What the production instance is: the shadow's image, settings and network, at the profile's full size. */
const planFields = {
  launchId: LaunchId,
  shadowInstanceId: InstanceId,
  productionInstanceId: InstanceId,
  tier: Tier,
  template: Template,
  network: Network,
  resources: ShadowResources
}
const transferFields = {
  launchId: LaunchId,
  bytes: Count,
  files: Count,
  checksum: Checksum,
  ms: Count,
  /** Identity files of the shadow left out of the copy, so production makes its own. */
  reset: Schema.Array(Schema.String)
}

export const RequestProduction = Schema.TaggedStruct("RequestProduction", { launchId: LaunchId, clientId: ClientId, priority: Priority })
/** A sender may leave out the launch's name (the request names it) and its priority (0). */
export const requestProductionDefaults = (commandId: string) => ({ launchId: commandId, priority: 0 })
export const StartProvisioning = Schema.TaggedStruct("StartProvisioning", planFields)
export const RecordProductionProvisioned = Schema.TaggedStruct("RecordProductionProvisioned", {
  launchId: LaunchId,
  runtimeId: RuntimeId,
  cpuMillis: Count,
  memoryMiB: Count
})
export const StartStateTransfer = Schema.TaggedStruct("StartStateTransfer", { launchId: LaunchId })
export const RecordStateTransfer = Schema.TaggedStruct("RecordStateTransfer", transferFields)
export const ShiftTraffic = Schema.TaggedStruct("ShiftTraffic", { launchId: LaunchId, weight: Weight })
export const CompleteLaunch = Schema.TaggedStruct("CompleteLaunch", { launchId: LaunchId })
export const RollBackLaunch = Schema.TaggedStruct("RollBackLaunch", { launchId: LaunchId, reason: Reason })
export const RecordShadowReleased = Schema.TaggedStruct("RecordShadowReleased", {
  launchId: LaunchId,
  disposition: Schema.Literals(["recycled", "terminated"])
})
export const LaunchCommand = Schema.Union([
  RequestProduction,
  StartProvisioning,
  RecordProductionProvisioned,
  StartStateTransfer,
  RecordStateTransfer,
  ShiftTraffic,
  CompleteLaunch,
  RollBackLaunch,
  RecordShadowReleased
])
export type LaunchCommand = typeof LaunchCommand.Type

export const LaunchRequested = Schema.TaggedStruct("LaunchRequested", { launchId: LaunchId, clientId: ClientId, priority: Priority })
/** The launch left the queue: the plan is fixed here, so a resumed launch builds the same production. */
export const ProvisioningStarted = Schema.TaggedStruct("ProvisioningStarted", { ...planFields, clientId: ClientId })
export const ProductionProvisioned = Schema.TaggedStruct("ProductionProvisioned", {
  launchId: LaunchId,
  productionInstanceId: InstanceId,
  runtimeId: RuntimeId,
  cpuMillis: Count,
  memoryMiB: Count
})
export const StateTransferStarted = Schema.TaggedStruct("StateTransferStarted", {
  launchId: LaunchId,
  fromInstanceId: InstanceId,
  toInstanceId: InstanceId,
  paths: Schema.Array(Schema.String)
})
export const StateTransferCompleted = Schema.TaggedStruct("StateTransferCompleted", transferFields)
export const TrafficShifted = Schema.TaggedStruct("TrafficShifted", { launchId: LaunchId, weight: Weight, previous: Weight })
export const LaunchCompleted = Schema.TaggedStruct("LaunchCompleted", { launchId: LaunchId, productionInstanceId: InstanceId })
export const LaunchRolledBack = Schema.TaggedStruct("LaunchRolledBack", {
  launchId: LaunchId,
  reason: Schema.String,
  /** The stage the launch had reached. */
  stage: Schema.String
})
export const ShadowReleased = Schema.TaggedStruct("ShadowReleased", {
  launchId: LaunchId,
  clientId: ClientId,
  shadowInstanceId: InstanceId,
  disposition: Schema.Literals(["recycled", "terminated"])
})
export const LaunchEvent = Schema.Union([
  LaunchRequested,
  ProvisioningStarted,
  ProductionProvisioned,
  StateTransferStarted,
  StateTransferCompleted,
  TrafficShifted,
  LaunchCompleted,
  LaunchRolledBack,
  ShadowReleased
])
export type LaunchEvent = typeof LaunchEvent.Type

export type LaunchPlan = Omit<typeof ProvisioningStarted.Type, "_tag" | "launchId" | "clientId">

/** Where a launch is; every stage after `queued` has a plan, and `weight` is what the router was last told. */
export type LaunchStage =
  | "absent"
  | "queued"
  | "provisioning"
  | "provisioned"
  | "transferring"
  | "transferred"
  | "shifting"
  | "completed"
  | "released"
  | "rolledBack"

export interface LaunchState {
  readonly stage: LaunchStage
  readonly clientId?: ClientId
  readonly priority: number
  readonly plan?: LaunchPlan
  readonly runtimeId?: string
  readonly weight: number
  readonly reason?: string
}

/** A launch that has not finished: it owns the client's route and a production instance may exist for it. */
export const isActive = (state: LaunchState): boolean =>
  state.stage !== "absent" && state.stage !== "completed" && state.stage !== "released" && state.stage !== "rolledBack"

const illegal = (command: LaunchCommand, state: LaunchState) =>
  Effect.fail(
    new IllegalState({
      message: `launch ${command.launchId} cannot ${command._tag} while ${state.stage}`,
      details: { launchId: command.launchId, command: command._tag, stage: state.stage }
    })
  )

const none = Effect.succeed<ReadonlyArray<LaunchEvent>>([])
const emit = (...events: ReadonlyArray<LaunchEvent>) => Effect.succeed<ReadonlyArray<LaunchEvent>>(events)

/** A step that is already done answers with nothing, so a resumed launch can repeat its last command. */
const step = (command: LaunchCommand, state: LaunchState, from: LaunchStage, done: LaunchStage, event: () => LaunchEvent) =>
  state.stage === from ? emit(event()) : state.stage === done ? none : illegal(command, state)

const decideShift = (command: typeof ShiftTraffic.Type, state: LaunchState) => {
  if (state.stage !== "transferred" && state.stage !== "shifting") return illegal(command, state)
  if (command.weight === state.weight) return none
  if (command.weight < state.weight) {
    return Effect.fail(
      new IllegalState({
        message: `launch ${command.launchId} shifts forward only (${state.weight} % → ${command.weight} %); a step back is a rollback`,
        details: { launchId: command.launchId, weight: command.weight, current: state.weight }
      })
    )
  }
  return emit({ _tag: "TrafficShifted", launchId: command.launchId, weight: command.weight, previous: state.weight })
}

export const launchDecider: Decider<LaunchCommand, LaunchEvent, LaunchState> = {
  initialState: { stage: "absent", priority: 0, weight: 0 },
  evolve: (state, event) => {
    switch (event._tag) {
      case "LaunchRequested":
        return { stage: "queued", clientId: event.clientId, priority: event.priority, weight: 0 }
      case "ProvisioningStarted": {
        const { _tag, launchId, clientId, ...plan } = event
        return { ...state, stage: "provisioning", plan }
      }
      case "ProductionProvisioned":
        return { ...state, stage: "provisioned", runtimeId: event.runtimeId }
      case "StateTransferStarted":
        return { ...state, stage: "transferring" }
      case "StateTransferCompleted":
        return { ...state, stage: "transferred" }
      case "TrafficShifted":
        return { ...state, stage: "shifting", weight: event.weight }
      case "LaunchCompleted":
        return { ...state, stage: "completed" }
      case "LaunchRolledBack":
        return { ...state, stage: "rolledBack", weight: 0, reason: event.reason }
      case "ShadowReleased":
        return { ...state, stage: "released" }
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "RequestProduction":
        return state.stage === "absent"
          ? emit({ _tag: "LaunchRequested", launchId: command.launchId, clientId: command.clientId, priority: command.priority })
          : illegal(command, state)
      case "StartProvisioning":
        return step(command, state, "queued", "provisioning", () => ({ ...command, _tag: "ProvisioningStarted", clientId: state.clientId! }))
      case "RecordProductionProvisioned":
        return step(command, state, "provisioning", "provisioned", () => ({
          _tag: "ProductionProvisioned",
          launchId: command.launchId,
          productionInstanceId: state.plan!.productionInstanceId,
          runtimeId: command.runtimeId,
          cpuMillis: command.cpuMillis,
          memoryMiB: command.memoryMiB
        }))
      case "StartStateTransfer":
        return step(command, state, "provisioned", "transferring", () => ({
          _tag: "StateTransferStarted",
          launchId: command.launchId,
          fromInstanceId: state.plan!.shadowInstanceId,
          toInstanceId: state.plan!.productionInstanceId,
          paths: state.plan!.template.statePaths
        }))
      case "RecordStateTransfer":
        return step(command, state, "transferring", "transferred", () => ({ ...command, _tag: "StateTransferCompleted" }))
      case "ShiftTraffic":
        return decideShift(command, state)
      case "CompleteLaunch":
        if (state.stage === "completed" || state.stage === "released") return none
        return state.stage === "shifting" && state.weight === 100
          ? emit({ _tag: "LaunchCompleted", launchId: command.launchId, productionInstanceId: state.plan!.productionInstanceId })
          : illegal(command, state)
      case "RollBackLaunch":
        if (state.stage === "rolledBack") return none
        return isActive(state)
          ? emit({ _tag: "LaunchRolledBack", launchId: command.launchId, reason: command.reason, stage: state.stage })
          : illegal(command, state)
      case "RecordShadowReleased":
        return step(command, state, "completed", "released", () => ({
          _tag: "ShadowReleased",
          launchId: command.launchId,
          clientId: state.clientId!,
          shadowInstanceId: state.plan!.shadowInstanceId,
          disposition: command.disposition
        }))
    }
  }
}

/** A tenant requests production; every later step is the launch runner's. */
export const launchAggregate: Aggregate<LaunchCommand, LaunchEvent, LaunchState> = {
  category: "launch",
  commands: LaunchCommand,
  events: LaunchEvent,
  decider: launchDecider,
  idOf: (command) => command.launchId,
  access: {
    RequestProduction: "public",
    StartProvisioning: "internal",
    RecordProductionProvisioned: "internal",
    StartStateTransfer: "internal",
    RecordStateTransfer: "internal",
    ShiftTraffic: "internal",
    CompleteLaunch: "internal",
    RollBackLaunch: "internal",
    RecordShadowReleased: "internal"
  },
  defaults: { RequestProduction: requestProductionDefaults }
}
