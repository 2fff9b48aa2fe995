import { Option, Schema } from "effect"
import type { DomainEvent } from "../catalog.ts"
import type { InstanceId } from "../ids.ts"
import { type PoolPolicy, shouldRecycle } from "../instance/poolPolicy.ts"
import { shadowInstanceId } from "../instance/shadowInstanceId.ts"
import { type SizingPolicy, shadowResources } from "../instance/sizingPolicy.ts"
import { ProfileCreated } from "../profile/profile.ts"
import type { Tier } from "../profile/resources.ts"
import type { SagaOutput } from "./saga.ts"
import type { SagaStepRecorded } from "./sagaStep.ts"

/** Pooled shadows of one image, tier and settings, as the runner saw them when the step was decided. */
export interface PoolView {
  /** Recycled instances a new client may claim, best first. */
  readonly available: ReadonlyArray<InstanceId>
  /** Recycled instances kept for that image and tier. */
  readonly size: number
}

export const emptyPool: PoolView = { available: [], size: 0 }

export interface ShadowSagaInput {
  readonly tenant: string
  /** The id of the input event: a profile generation, from which the shadow's instance id is derived. */
  readonly eventId: string
  readonly event: DomainEvent
  readonly pool: PoolView
}

/** Which pooled shadows may serve a client: same image, tier and settings (a container's settings cannot change). */
export interface PoolKey {
  readonly image: string
  readonly tier: Tier
  /** The template's settings in a canonical form. */
  readonly settings: string
}

export const settingsKey = (settings: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

export interface CurrentShadow extends PoolKey {
  readonly instanceId: InstanceId
}

/** The client's current shadow, from the commands this saga recorded. */
export interface ShadowSagaState {
  readonly current: CurrentShadow | undefined
}

export interface ShadowSagaPolicy {
  readonly sizing: SizingPolicy
  readonly pool: PoolPolicy
}

const decodeProfileCreated = Schema.decodeUnknownOption(ProfileCreated)

const instanceIdOf = (data: Record<string, unknown>) => data["instanceId"] as InstanceId

/** The client's current shadow after one more recorded step (what a launch reads to find the shadow). */
export const evolveShadowSaga = (state: ShadowSagaState, step: SagaStepRecorded): ShadowSagaState => {
  // A launch released the shadow (its production took over): it is no longer this saga's to resize or recycle.
  if (step.input.type === "ShadowReleased") {
    const released = (step.input.data as Record<string, unknown>)["shadowInstanceId"]
    return released === state.current?.instanceId ? { current: undefined } : state
  }
  let current = state.current
  for (const command of step.commands) {
    if (command.type === "DeployShadow" || command.type === "ClaimPooledInstance") {
      const created = decodeProfileCreated({ ...(step.input.data as object), _tag: "ProfileCreated" })
      current = Option.match(created, {
        onNone: () => current,
        onSome: (profile) => ({
          instanceId: instanceIdOf(command.data),
          image: profile.template.image,
          tier: profile.tier,
          settings: settingsKey(profile.template.settings)
        })
      })
    } else if (
      (command.type === "RecycleInstance" || command.type === "TerminateInstance") &&
      instanceIdOf(command.data) === current?.instanceId
    ) {
      current = undefined
    }
  }
  return { current }
}

/**
 * The shadow's lifecycle for one client, as a decider: ProfileCreated → DeployShadow (or claim a pooled
 * shadow of the same image, tier and settings), ProfileRefined → ResizeInstance, ClientDisconnected → RecycleInstance
 * or TerminateInstance; ShadowReleased (a launch handed the client to production) → the shadow is forgotten. The pool view is an input so that the decision, once recorded, replays as it was.
 */
export const makeShadowSaga = (policy: ShadowSagaPolicy) => ({
  name: "shadow",
  handles: ["ProfileCreated", "ProfileRefined", "ClientDisconnected", "ShadowReleased"] as ReadonlyArray<DomainEvent["_tag"]>,
  keyOf: (event: DomainEvent): string => ("clientId" in event ? event.clientId : ""),
  /** Which pool the runner must look at before deciding on `event`. */
  poolKeyOf: (event: DomainEvent, state: ShadowSagaState): PoolKey | undefined => {
    if (event._tag === "ProfileCreated") {
      return { image: event.template.image, tier: event.tier, settings: settingsKey(event.template.settings) }
    }
    if (event._tag === "ClientDisconnected" && state.current !== undefined) return state.current
    return undefined
  },
  initialState: { current: undefined } as ShadowSagaState,
  evolve: evolveShadowSaga,
  decide: (input: ShadowSagaInput, state: ShadowSagaState): ReadonlyArray<SagaOutput> => {
    const { event } = input
    switch (event._tag) {
      case "ProfileCreated": {
        const resources = shadowResources(event.expected, policy.sizing)
        // A profile has one live shadow: a leftover one goes before the next is started.
        const leftover: ReadonlyArray<SagaOutput> =
          state.current === undefined
            ? []
            : [{ type: "TerminateInstance", data: { instanceId: state.current.instanceId, reason: "profile recreated" } }]
        const pooled = input.pool.available[0]
        const start: SagaOutput =
          pooled !== undefined
            ? { type: "ClaimPooledInstance", data: { instanceId: pooled, clientId: event.clientId, resources } }
            : {
                type: "DeployShadow",
                data: {
                  instanceId: shadowInstanceId(input.tenant, event.clientId, input.eventId),
                  clientId: event.clientId,
                  tier: event.tier,
                  template: event.template,
                  network: event.network,
                  resources
                }
              }
        return [...leftover, start]
      }
      case "ProfileRefined":
        return state.current === undefined
          ? []
          : [{ type: "ResizeInstance", data: { instanceId: state.current.instanceId, resources: shadowResources(event.expected, policy.sizing) } }]
      case "ClientDisconnected":
        if (state.current === undefined) return []
        return shouldRecycle(policy.pool, input.pool.size)
          ? [{ type: "RecycleInstance", data: { instanceId: state.current.instanceId } }]
          : [{ type: "TerminateInstance", data: { instanceId: state.current.instanceId, reason: "client disconnected" } }]
      default:
        return []
    }
  }
})

export type ShadowSaga = ReturnType<typeof makeShadowSaga>
