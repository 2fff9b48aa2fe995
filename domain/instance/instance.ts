import { Effect, Schema } from "effect"
import type { Aggregate, Decider } from "../decider.ts"
import { IllegalState, NotFound } from "../errors.ts"
import { ClientId, InstanceId, LaunchId } from "../ids.ts"
import { Tier } from "../profile/resources.ts"
import { Network, Template } from "../profile/template.ts"
import { resizedBeforeReasons } from "./instanceResizedV1.ts"
import { sameResources, ShadowResources } from "./sizingPolicy.ts"

const RuntimeId = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(128))
const Reason = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(512))

/** What a shadow is: its client, tier, template, network and size (the command and its event carry it alike). */
const shadowFields = {
  instanceId: InstanceId,
  clientId: ClientId,
  tier: Tier,
  template: Template,
  network: Network,
  resources: ShadowResources
}

/** A shadow runs ahead of the client's request; production is the instance a launch made for the client at full size. */
export const InstanceRole = Schema.Literals(["shadow", "production"])
export type InstanceRole = typeof InstanceRole.Type

export const DeployShadow = Schema.TaggedStruct("DeployShadow", shadowFields)
/** A launch made production (its container, stopped until its state is in): from here on it is an instance like a shadow. */
export const DeployProduction = Schema.TaggedStruct("DeployProduction", { ...shadowFields, launchId: LaunchId })
export const RecordInstanceStarted = Schema.TaggedStruct("RecordInstanceStarted", { instanceId: InstanceId, runtimeId: RuntimeId })
export const MarkInstanceReady = Schema.TaggedStruct("MarkInstanceReady", { instanceId: InstanceId })
/** `reason` says what the size follows: the profile's new expectation, or the shadow's own observed use. */
export const ResizeInstance = Schema.TaggedStruct("ResizeInstance", { instanceId: InstanceId, resources: ShadowResources, reason: Reason })
export const MarkHeartbeatLost = Schema.TaggedStruct("MarkHeartbeatLost", { instanceId: InstanceId, reason: Reason })
export const RecreateInstance = Schema.TaggedStruct("RecreateInstance", {
  instanceId: InstanceId,
  /** Counts every recreation of this instance from 1: a second runner with the same attempt is refused. */
  attempt: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
  runtimeId: RuntimeId
})
/**
 * The runtime refused to run the instance (an engine that answered with an error, an image it lacks): its
 * first start (`attempt` 0, while requested) or a recreation (`attempt` the one it was). The instance counts
 * as lost, so that it is tried again after the recreation's wait, and given up like a silent one.
 */
export const RecordStartFailed = Schema.TaggedStruct("RecordStartFailed", {
  instanceId: InstanceId,
  attempt: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  reason: Reason
})
export const RecycleInstance = Schema.TaggedStruct("RecycleInstance", { instanceId: InstanceId })
export const ClaimPooledInstance = Schema.TaggedStruct("ClaimPooledInstance", {
  instanceId: InstanceId,
  clientId: ClientId,
  resources: ShadowResources
})
export const TerminateInstance = Schema.TaggedStruct("TerminateInstance", { instanceId: InstanceId, reason: Reason })
export const InstanceCommand = Schema.Union([
  DeployShadow,
  DeployProduction,
  RecordInstanceStarted,
  MarkInstanceReady,
  ResizeInstance,
  MarkHeartbeatLost,
  RecreateInstance,
  RecordStartFailed,
  RecycleInstance,
  ClaimPooledInstance,
  TerminateInstance
])
export type InstanceCommand = typeof InstanceCommand.Type

/** The intent to run a shadow: everything a runtime needs, so a recreation or a reconciliation reads it from here. */
export const ShadowRequested = Schema.TaggedStruct("ShadowRequested", shadowFields)
/** The same for production: its launch starts it (once the shadow's state is in), then it is watched, resized and recreated. */
export const ProductionRequested = Schema.TaggedStruct("ProductionRequested", { ...shadowFields, launchId: LaunchId })
export const InstanceStarted = Schema.TaggedStruct("InstanceStarted", { instanceId: InstanceId, runtimeId: RuntimeId })
export const InstanceReady = Schema.TaggedStruct("InstanceReady", { instanceId: InstanceId, runtimeId: RuntimeId })
/** Version 2 (version 1 had no reason: see `instanceResizedV1.ts`). */
export const InstanceResized = Schema.TaggedStruct("InstanceResized", {
  instanceId: InstanceId,
  resources: ShadowResources,
  previous: ShadowResources,
  reason: Schema.String
})
export const HeartbeatLost = Schema.TaggedStruct("HeartbeatLost", { instanceId: InstanceId, runtimeId: RuntimeId, reason: Schema.String })
export const InstanceRecreated = Schema.TaggedStruct("InstanceRecreated", {
  instanceId: InstanceId,
  attempt: Schema.Int,
  runtimeId: RuntimeId,
  /** Empty when nothing ran before (the runtime refused the instance's start or last recreation). */
  previousRuntimeId: Schema.String.check(Schema.isMaxLength(128))
})
export const InstanceStartFailed = Schema.TaggedStruct("InstanceStartFailed", {
  instanceId: InstanceId,
  attempt: Schema.Int,
  reason: Schema.String
})
export const InstanceRecycled = Schema.TaggedStruct("InstanceRecycled", { instanceId: InstanceId, clientId: ClientId })
export const InstanceClaimed = Schema.TaggedStruct("InstanceClaimed", {
  instanceId: InstanceId,
  clientId: ClientId,
  previousClientId: ClientId,
  resources: ShadowResources
})
export const InstanceTerminated = Schema.TaggedStruct("InstanceTerminated", { instanceId: InstanceId, reason: Schema.String })
export const InstanceEvent = Schema.Union([
  ShadowRequested,
  ProductionRequested,
  InstanceStarted,
  InstanceReady,
  InstanceResized,
  HeartbeatLost,
  InstanceRecreated,
  InstanceStartFailed,
  InstanceRecycled,
  InstanceClaimed,
  InstanceTerminated
])
export type InstanceEvent = typeof InstanceEvent.Type

/** What the instance runs and for whom; it changes by resizing and by a pooled shadow changing hands. */
export const InstanceSpecification = Schema.Struct({
  role: InstanceRole,
  clientId: ClientId,
  tier: Tier,
  template: Template,
  network: Network,
  resources: ShadowResources
})
export type InstanceSpecification = typeof InstanceSpecification.Type

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const placed = {
  spec: InstanceSpecification,
  runtimeId: Schema.String,
  /** Recreations so far (numbers the next one). */
  recreations: Count,
  /** Recreations since the instance was last ready (bounded by the watchdog's limit). */
  failures: Count
}

export const InstanceState = Schema.Union([
  Schema.TaggedStruct("Absent", {}),
  Schema.TaggedStruct("Requested", { spec: InstanceSpecification }),
  Schema.TaggedStruct("Started", placed),
  Schema.TaggedStruct("Ready", placed),
  Schema.TaggedStruct("Lost", placed),
  Schema.TaggedStruct("Recycled", placed),
  Schema.TaggedStruct("Terminated", { spec: InstanceSpecification })
])
export type InstanceState = typeof InstanceState.Type

/** Whether a container should be running for this state (what the reconciler and the watchdog look after). */
export const shouldRun = (state: InstanceState): state is Extract<InstanceState, { _tag: "Started" | "Ready" }> =>
  state._tag === "Started" || state._tag === "Ready"

const illegal = (command: InstanceCommand, state: InstanceState) =>
  Effect.fail(
    new IllegalState({
      message: `instance ${command.instanceId} cannot ${command._tag} while ${state._tag}`,
      details: { instanceId: command.instanceId, command: command._tag, state: state._tag }
    })
  )

const none = Effect.succeed<ReadonlyArray<InstanceEvent>>([])
const emit = (...events: ReadonlyArray<InstanceEvent>) => Effect.succeed<ReadonlyArray<InstanceEvent>>(events)

const decideRecreate = (command: typeof RecreateInstance.Type, state: InstanceState) => {
  if (state._tag !== "Lost") return illegal(command, state)
  if (command.attempt !== state.recreations + 1) {
    return Effect.fail(
      new IllegalState({
        message: `instance ${command.instanceId} expects recreation ${state.recreations + 1}, not ${command.attempt}`,
        details: { instanceId: command.instanceId, expected: state.recreations + 1, attempt: command.attempt }
      })
    )
  }
  return emit({
    _tag: "InstanceRecreated",
    instanceId: command.instanceId,
    attempt: command.attempt,
    runtimeId: command.runtimeId,
    previousRuntimeId: state.runtimeId
  })
}

/** The first start failed while requested, or the recreation the lost instance expects next. */
const decideStartFailed = (command: typeof RecordStartFailed.Type, state: InstanceState) => {
  const expected = state._tag === "Requested" ? 0 : state._tag === "Lost" ? state.recreations + 1 : undefined
  if (expected === undefined) return illegal(command, state)
  if (command.attempt !== expected) {
    return Effect.fail(
      new IllegalState({
        message: `instance ${command.instanceId} expects attempt ${expected} to fail, not ${command.attempt}`,
        details: { instanceId: command.instanceId, expected, attempt: command.attempt }
      })
    )
  }
  return emit({ _tag: "InstanceStartFailed", instanceId: command.instanceId, attempt: command.attempt, reason: command.reason })
}

const decideResize = (command: typeof ResizeInstance.Type, state: InstanceState) => {
  // Requested: the size it is started (a shadow) or first runs (production, once its launch started it) at.
  if (state._tag !== "Requested" && state._tag !== "Started" && state._tag !== "Ready" && state._tag !== "Lost") return illegal(command, state)
  if (sameResources(command.resources, state.spec.resources)) return none
  return emit({
    _tag: "InstanceResized",
    instanceId: command.instanceId,
    resources: command.resources,
    previous: state.spec.resources,
    reason: command.reason
  })
}

export const instanceDecider: Decider<InstanceCommand, InstanceEvent, InstanceState> = {
  initialState: { _tag: "Absent" },
  evolve: (state, event) => {
    switch (event._tag) {
      case "ShadowRequested": {
        const { _tag, instanceId, ...spec } = event
        return { _tag: "Requested", spec: { ...spec, role: "shadow" } }
      }
      case "ProductionRequested": {
        const { _tag, instanceId, launchId, ...spec } = event
        return { _tag: "Requested", spec: { ...spec, role: "production" } }
      }
      case "InstanceStarted":
        return state._tag === "Requested"
          ? { _tag: "Started", spec: state.spec, runtimeId: event.runtimeId, recreations: 0, failures: 0 }
          : state
      case "InstanceReady":
        return state._tag === "Started" ? { ...state, _tag: "Ready", failures: 0 } : state
      case "InstanceResized":
        return state._tag === "Absent" || state._tag === "Terminated" ? state : { ...state, spec: { ...state.spec, resources: event.resources } }
      case "HeartbeatLost":
        return state._tag === "Started" || state._tag === "Ready" ? { ...state, _tag: "Lost" } : state
      case "InstanceRecreated":
        return state._tag === "Lost"
          ? { ...state, _tag: "Started", runtimeId: event.runtimeId, recreations: event.attempt, failures: state.failures + 1 }
          : state
      case "InstanceStartFailed":
        // Nothing runs: lost, with the attempt counted as a recreation that failed.
        if (state._tag === "Requested") return { _tag: "Lost", spec: state.spec, runtimeId: "", recreations: 0, failures: 1 }
        return state._tag === "Lost" ? { ...state, recreations: event.attempt, failures: state.failures + 1 } : state
      case "InstanceRecycled":
        return "runtimeId" in state ? { ...state, _tag: "Recycled" } : state
      case "InstanceClaimed":
        return state._tag === "Recycled"
          ? { ...state, _tag: "Started", spec: { ...state.spec, clientId: event.clientId, resources: event.resources } }
          : state
      case "InstanceTerminated":
        return state._tag === "Absent" ? state : { _tag: "Terminated", spec: state.spec }
    }
  },
  decide: (command, state) => {
    switch (command._tag) {
      case "DeployShadow": {
        if (state._tag !== "Absent") return illegal(command, state)
        const { _tag, ...fields } = command
        return emit({ ...fields, _tag: "ShadowRequested" })
      }
      case "DeployProduction": {
        if (state._tag !== "Absent") return illegal(command, state)
        const { _tag, ...fields } = command
        return emit({ ...fields, _tag: "ProductionRequested" })
      }
      case "RecordInstanceStarted":
        if (state._tag === "Started" && state.runtimeId === command.runtimeId) return none
        return state._tag === "Requested"
          ? emit({ _tag: "InstanceStarted", instanceId: command.instanceId, runtimeId: command.runtimeId })
          : illegal(command, state)
      case "MarkInstanceReady":
        if (state._tag === "Ready") return none
        return state._tag === "Started"
          ? emit({ _tag: "InstanceReady", instanceId: command.instanceId, runtimeId: state.runtimeId })
          : illegal(command, state)
      case "ResizeInstance":
        return decideResize(command, state)
      case "MarkHeartbeatLost":
        if (state._tag === "Lost") return none
        return state._tag === "Started" || state._tag === "Ready"
          ? emit({ _tag: "HeartbeatLost", instanceId: command.instanceId, runtimeId: state.runtimeId, reason: command.reason })
          : illegal(command, state)
      case "RecreateInstance":
        return decideRecreate(command, state)
      case "RecordStartFailed":
        return decideStartFailed(command, state)
      case "RecycleInstance":
        if (state._tag === "Recycled") return none
        // The pool holds shadows: production goes with its client.
        return (state._tag === "Started" || state._tag === "Ready") && state.spec.role === "shadow"
          ? emit({ _tag: "InstanceRecycled", instanceId: command.instanceId, clientId: state.spec.clientId })
          : illegal(command, state)
      case "ClaimPooledInstance":
        return state._tag === "Recycled"
          ? emit({
              _tag: "InstanceClaimed",
              instanceId: command.instanceId,
              clientId: command.clientId,
              previousClientId: state.spec.clientId,
              resources: command.resources
            })
          : illegal(command, state)
      case "TerminateInstance":
        if (state._tag === "Absent") {
          return Effect.fail(
            new NotFound({ message: `there is no instance ${command.instanceId}`, details: { instanceId: command.instanceId } })
          )
        }
        return state._tag === "Terminated"
          ? none
          : emit({ _tag: "InstanceTerminated", instanceId: command.instanceId, reason: command.reason })
    }
  }
}

/** Every instance command is the orchestrator's own: a tenant never drives its instances' lifecycle directly. */
export const instanceAggregate: Aggregate<InstanceCommand, InstanceEvent, InstanceState> = {
  category: "instance",
  commands: InstanceCommand,
  events: InstanceEvent,
  decider: instanceDecider,
  idOf: (command) => command.instanceId,
  access: {
    DeployShadow: "internal",
    DeployProduction: "internal",
    RecordInstanceStarted: "internal",
    MarkInstanceReady: "internal",
    ResizeInstance: "internal",
    MarkHeartbeatLost: "internal",
    RecreateInstance: "internal",
    RecordStartFailed: "internal",
    RecycleInstance: "internal",
    ClaimPooledInstance: "internal",
    TerminateInstance: "internal"
  },
  // Saga steps recorded before resizes said why hold the shadow saga's, which followed a refined profile.
  defaults: { ResizeInstance: () => ({ reason: resizedBeforeReasons }) },
  // Version 2: the specification says the instance's role.
  snapshot: { version: 2, schema: InstanceState }
}
