import { Effect, Schema } from "effect"
import type { Aggregate, Decider } from "../decider.ts"
import { IllegalState } from "../errors.ts"
import { ClientId, InstanceId, LaunchId } from "../ids.ts"
import { ShadowResources } from "../instance/sizingPolicy.ts"
import { Tier } from "../profile/resources.ts"
import { Network, Template } from "../profile/template.ts"
import { maxDependencyFiles } from "../signals.ts"

/** The container or process id; empty where the runtime has none before the start (a process not yet spawned). */
const RuntimeId = Schema.String.check(Schema.isMaxLength(128))
const Reason = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(512))
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
/** Higher goes first; equal priorities go in the order they were requested. */
export const Priority = Schema.Int.check(Schema.isBetween({ minimum: -1000, maximum: 1000 }))
/** Production's share of the client's traffic, in percent. */
export const Weight = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100 }))
const Checksum = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/))
/** What becomes of the shadow once production has all of the client's traffic. */
export const Disposition = Schema.Literals(["recycled", "terminated"])
export type Disposition = typeof Disposition.Type

/** What the production instance is: the shadow's image, settings and network, at the profile's full size. */
const planFields = {
  launchId: LaunchId,
  shadowInstanceId: InstanceId,
  productionInstanceId: InstanceId,
  tier: Tier,
  template: Template,
  network: Network,
  resources: ShadowResources,
  /**
   * Files production's agent reads into the page cache before its workload starts: the dependencies the
   * profile inferred from the shadow's use. Absent from launches planned before there were any.
   */
  preload: Schema.optionalKey(Schema.Array(Schema.String).check(Schema.isMaxLength(maxDependencyFiles))),
  /**
   * The loopback port the client's endpoint took on the traffic router when the plan was fixed, so that it
   * stays the same after a restart. Absent from launches planned before it was recorded (see `endpointPortOf`).
   */
  endpointPort: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 })))
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
const Millis = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
/**
 * What a held step passed its gates with: how long it held, what production served in it as the router
 * measured it (absent when the router had no figures) and the p99 of production's heartbeat round trips
 * (absent when its agent measures none).
 */
export const StepReading = Schema.Struct({
  heldMs: Millis,
  traffic: Schema.optionalKey(Schema.Struct({ requests: Count, errors: Count, p99Ms: Millis })),
  heartbeatP99Ms: Schema.optionalKey(Millis)
})
export type StepReading = typeof StepReading.Type
/** The step before this one passed with these readings; absent for the first step and a resumed launch's repeat. */
const passedStep = { passed: Schema.optionalKey(StepReading) }

export const ShiftTraffic = Schema.TaggedStruct("ShiftTraffic", { launchId: LaunchId, weight: Weight, ...passedStep })
export const CompleteLaunch = Schema.TaggedStruct("CompleteLaunch", { launchId: LaunchId, shadowDisposition: Disposition, ...passedStep })
export const RollBackLaunch = Schema.TaggedStruct("RollBackLaunch", { launchId: LaunchId, reason: Reason })
export const RecordShadowReleased = Schema.TaggedStruct("RecordShadowReleased", { launchId: LaunchId, disposition: Disposition })
/** The client is gone: its production instance and endpoint go too. */
export const RetireProduction = Schema.TaggedStruct("RetireProduction", { launchId: LaunchId })
export const LaunchCommand = Schema.Union([
  RequestProduction,
  StartProvisioning,
  RecordProductionProvisioned,
  StartStateTransfer,
  RecordStateTransfer,
  ShiftTraffic,
  CompleteLaunch,
  RollBackLaunch,
  RecordShadowReleased,
  RetireProduction
])
export type LaunchCommand = typeof LaunchCommand.Type

export const LaunchRequested = Schema.TaggedStruct("LaunchRequested", { launchId: LaunchId, clientId: ClientId, priority: Priority })
/** The launch left the queue: the plan is fixed here, so a resumed launch builds the same production. */
export const ProvisioningStarted = Schema.TaggedStruct("ProvisioningStarted", { ...planFields, clientId: ClientId })
/**
 * The client a launch is for, on the events the production saga (keyed by client) reads: absent from events
 * stored before they said it.
 */
const launchClient = { clientId: Schema.optionalKey(ClientId) }

export const ProductionProvisioned = Schema.TaggedStruct("ProductionProvisioned", {
  launchId: LaunchId,
  ...launchClient,
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
/** `passed` is what the step at `previous` passed with; absent from events stored before steps' readings were. */
export const TrafficShifted = Schema.TaggedStruct("TrafficShifted", { launchId: LaunchId, weight: Weight, previous: Weight, ...passedStep })
export const LaunchCompleted = Schema.TaggedStruct("LaunchCompleted", {
  launchId: LaunchId,
  ...launchClient,
  productionInstanceId: InstanceId,
  /**
   * Chosen once, with the completion, so that a release resumed after a crash carries out the same choice.
   * Absent from launches completed before the choice was recorded: their shadow is terminated.
   */
  shadowDisposition: Schema.optionalKey(Disposition),
  /** What the last step (100 %) passed with; absent from launches completed before steps' readings were recorded. */
  ...passedStep
})
export const LaunchRolledBack = Schema.TaggedStruct("LaunchRolledBack", {
  launchId: LaunchId,
  ...launchClient,
  reason: Schema.String,
  /** The stage the launch had reached. */
  stage: Schema.String
})
export const ShadowReleased = Schema.TaggedStruct("ShadowReleased", {
  launchId: LaunchId,
  clientId: ClientId,
  shadowInstanceId: InstanceId,
  disposition: Disposition
})
/** Production is to be removed with the client's endpoint; the launch runner carries it out. */
export const ProductionRetired = Schema.TaggedStruct("ProductionRetired", {
  launchId: LaunchId,
  clientId: ClientId,
  productionInstanceId: InstanceId
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
  ShadowReleased,
  ProductionRetired
])
export type LaunchEvent = typeof LaunchEvent.Type

export type LaunchPlan = Omit<typeof ProvisioningStarted.Type, "_tag" | "launchId" | "clientId">

/** What every launch has from its request on. */
interface Requested {
  readonly clientId: ClientId
  readonly priority: number
}
/** From `ProvisioningStarted` on: what production is. */
interface Planned extends Requested {
  readonly plan: LaunchPlan
}
/** From `ProductionProvisioned` on: the production container (or process) made for it. */
interface Placed extends Planned {
  readonly runtimeId: string
}

/**
 * Where a launch is, each case with what it has: a plan from `Provisioning` on, production's share of the
 * traffic while `Shifting` (all of it once `Completed`), the reason of a rollback (and the plan, if it had one).
 */
export type LaunchState =
  | { readonly _tag: "Absent" }
  | ({ readonly _tag: "Queued" } & Requested)
  | ({ readonly _tag: "Provisioning" } & Planned)
  | ({ readonly _tag: "Provisioned" } & Placed)
  | ({ readonly _tag: "Transferring" } & Placed)
  | ({ readonly _tag: "Transferred" } & Placed)
  | ({ readonly _tag: "Shifting"; readonly weight: number } & Placed)
  | ({ readonly _tag: "Completed"; readonly shadowDisposition: Disposition } & Placed)
  | ({ readonly _tag: "Released"; readonly disposition: Disposition } & Placed)
  /** Production is (to be) removed, its endpoint closed: the client disconnected after the launch completed. */
  | ({ readonly _tag: "Retired" } & Placed)
  | ({ readonly _tag: "RolledBack"; readonly plan: LaunchPlan | undefined; readonly reason: string } & Requested)

export type LaunchStateOf<Tag extends LaunchState["_tag"]> = Extract<LaunchState, { readonly _tag: Tag }>

/** A launch's stage as events and queries name it (`LaunchRolledBack.stage`, the `Launch` query's `stage`). */
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
  | "retired"
  | "rolledBack"

const stages: { readonly [Tag in LaunchState["_tag"]]: LaunchStage } = {
  Absent: "absent",
  Queued: "queued",
  Provisioning: "provisioning",
  Provisioned: "provisioned",
  Transferring: "transferring",
  Transferred: "transferred",
  Shifting: "shifting",
  Completed: "completed",
  Released: "released",
  Retired: "retired",
  RolledBack: "rolledBack"
}

export const stageOf = (state: LaunchState): LaunchStage => stages[state._tag]

/** Production's share of the client's traffic as the launch last told the router, in percent. */
export const weightOf = (state: LaunchState): number =>
  state._tag === "Shifting" ? state.weight : state._tag === "Completed" || state._tag === "Released" ? 100 : 0

export type ActiveLaunch = LaunchStateOf<"Queued" | "Provisioning" | "Provisioned" | "Transferring" | "Transferred" | "Shifting">

/** A launch that has not finished: it owns the client's route and a production instance may exist for it. */
export const isActive = (state: LaunchState): state is ActiveLaunch =>
  state._tag !== "Absent" && state._tag !== "Completed" && state._tag !== "Released" && state._tag !== "Retired" && state._tag !== "RolledBack"

/** A launch holding one of the provisioning slots: from leaving the queue to the end of its state transfer. */
export const isProvisioning = (state: LaunchState): state is LaunchStateOf<"Queued" | "Provisioning" | "Provisioned" | "Transferring"> =>
  state._tag === "Queued" || state._tag === "Provisioning" || state._tag === "Provisioned" || state._tag === "Transferring"

const illegal = (command: LaunchCommand, state: LaunchState) =>
  Effect.fail(
    new IllegalState({
      message: `launch ${command.launchId} cannot ${command._tag} while ${stageOf(state)}`,
      details: { launchId: command.launchId, command: command._tag, stage: stageOf(state) }
    })
  )

const none = Effect.succeed<ReadonlyArray<LaunchEvent>>([])
const emit = (...events: ReadonlyArray<LaunchEvent>) => Effect.succeed<ReadonlyArray<LaunchEvent>>(events)

/** What a placed launch keeps from stage to stage. */
const placed = (state: Placed): Placed => ({ clientId: state.clientId, priority: state.priority, plan: state.plan, runtimeId: state.runtimeId })

/** `{ passed }` where there is a reading, nothing where there is none (the field is optional, never undefined). */
export const passedOf = (passed: StepReading | undefined): { readonly passed?: StepReading } => (passed === undefined ? {} : { passed })

const decideShift = (command: typeof ShiftTraffic.Type, state: LaunchState) => {
  if (state._tag !== "Transferred" && state._tag !== "Shifting") return illegal(command, state)
  const current = weightOf(state)
  if (command.weight === current) return none
  if (command.weight < current) {
    return Effect.fail(
      new IllegalState({
        message: `launch ${command.launchId} shifts forward only (${current} % → ${command.weight} %); a step back is a rollback`,
        details: { launchId: command.launchId, weight: command.weight, current }
      })
    )
  }
  return emit({ _tag: "TrafficShifted", launchId: command.launchId, weight: command.weight, previous: current, ...passedOf(command.passed) })
}

/**
 * Each step answers the stage before it with its event, and the stage it leads to with nothing (the step is
 * done), so a resumed launch can repeat its last command; anything else is illegal.
 */
export const launchDecider: Decider<LaunchCommand, LaunchEvent, LaunchState> = {
  initialState: { _tag: "Absent" },
  evolve: (state, event) => {
    switch (event._tag) {
      case "LaunchRequested":
        return state._tag === "Absent" ? { _tag: "Queued", clientId: event.clientId, priority: event.priority } : state
      case "ProvisioningStarted": {
        if (state._tag !== "Queued") return state
        const { _tag, launchId, clientId, ...plan } = event
        return { _tag: "Provisioning", clientId: state.clientId, priority: state.priority, plan }
      }
      case "ProductionProvisioned":
        return state._tag === "Provisioning"
          ? { _tag: "Provisioned", clientId: state.clientId, priority: state.priority, plan: state.plan, runtimeId: event.runtimeId }
          : state
      case "StateTransferStarted":
        return state._tag === "Provisioned" ? { ...placed(state), _tag: "Transferring" } : state
      case "StateTransferCompleted":
        return state._tag === "Transferring" ? { ...placed(state), _tag: "Transferred" } : state
      case "TrafficShifted":
        return state._tag === "Transferred" || state._tag === "Shifting" ? { ...placed(state), _tag: "Shifting", weight: event.weight } : state
      case "LaunchCompleted":
        return state._tag === "Shifting"
          ? { ...placed(state), _tag: "Completed", shadowDisposition: event.shadowDisposition ?? "terminated" }
          : state
      case "LaunchRolledBack":
        return isActive(state)
          ? { _tag: "RolledBack", clientId: state.clientId, priority: state.priority, plan: "plan" in state ? state.plan : undefined, reason: event.reason }
          : state
      case "ShadowReleased":
        return state._tag === "Completed" ? { ...placed(state), _tag: "Released", disposition: event.disposition } : state
      case "ProductionRetired":
        return state._tag === "Completed" || state._tag === "Released" ? { ...placed(state), _tag: "Retired" } : state
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "RequestProduction":
        return state._tag === "Absent"
          ? emit({ _tag: "LaunchRequested", launchId: command.launchId, clientId: command.clientId, priority: command.priority })
          : illegal(command, state)
      case "StartProvisioning":
        if (state._tag === "Provisioning") return none
        return state._tag === "Queued" ? emit({ ...command, _tag: "ProvisioningStarted", clientId: state.clientId }) : illegal(command, state)
      case "RecordProductionProvisioned":
        if (state._tag === "Provisioned") return none
        return state._tag === "Provisioning"
          ? emit({
            _tag: "ProductionProvisioned",
            launchId: command.launchId,
            clientId: state.clientId,
            productionInstanceId: state.plan.productionInstanceId,
            runtimeId: command.runtimeId,
            cpuMillis: command.cpuMillis,
            memoryMiB: command.memoryMiB
          })
          : illegal(command, state)
      case "StartStateTransfer":
        if (state._tag === "Transferring") return none
        return state._tag === "Provisioned"
          ? emit({
            _tag: "StateTransferStarted",
            launchId: command.launchId,
            fromInstanceId: state.plan.shadowInstanceId,
            toInstanceId: state.plan.productionInstanceId,
            paths: state.plan.template.statePaths
          })
          : illegal(command, state)
      case "RecordStateTransfer":
        if (state._tag === "Transferred") return none
        return state._tag === "Transferring" ? emit({ ...command, _tag: "StateTransferCompleted" }) : illegal(command, state)
      case "ShiftTraffic":
        return decideShift(command, state)
      case "CompleteLaunch":
        if (state._tag === "Completed" || state._tag === "Released" || state._tag === "Retired") return none
        return state._tag === "Shifting" && state.weight === 100
          ? emit({
            _tag: "LaunchCompleted",
            launchId: command.launchId,
            clientId: state.clientId,
            productionInstanceId: state.plan.productionInstanceId,
            shadowDisposition: command.shadowDisposition,
            ...passedOf(command.passed)
          })
          : illegal(command, state)
      case "RollBackLaunch":
        if (state._tag === "RolledBack") return none
        return isActive(state)
          ? emit({ _tag: "LaunchRolledBack", launchId: command.launchId, clientId: state.clientId, reason: command.reason, stage: stageOf(state) })
          : illegal(command, state)
      case "RecordShadowReleased":
        // Retired before its release was recorded: the shadow went with the client (the shadow saga's to end).
        if (state._tag === "Released" || state._tag === "Retired") return none
        return state._tag === "Completed"
          ? emit({
            _tag: "ShadowReleased",
            launchId: command.launchId,
            clientId: state.clientId,
            shadowInstanceId: state.plan.shadowInstanceId,
            disposition: command.disposition
          })
          : illegal(command, state)
      case "RetireProduction":
        if (state._tag === "Retired") return none
        return state._tag === "Completed" || state._tag === "Released"
          ? emit({ _tag: "ProductionRetired", launchId: command.launchId, clientId: state.clientId, productionInstanceId: state.plan.productionInstanceId })
          : illegal(command, state)
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
    RecordShadowReleased: "internal",
    RetireProduction: "internal"
  },
  defaults: { RequestProduction: requestProductionDefaults }
}
