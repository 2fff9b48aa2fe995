import { Schema } from "effect"
import type { DomainCommand } from "../commands.ts"
import { InstanceId } from "../ids.ts"
import { emptyPool, type PoolKey, poolKeyOf, type PoolView } from "../instance/poolKey.ts"
import { type PoolPolicy, shouldRecycle } from "../instance/poolPolicy.ts"
import { shadowInstanceId } from "../instance/shadowInstanceId.ts"
import { type SizingPolicy, shadowResources } from "../instance/sizingPolicy.ts"
import { Tier } from "../profile/resources.ts"
import type { Saga, SagaFold, SagaInput, SagaStep } from "./saga.ts"


export const shadowSagaName = "shadow"

export const CurrentShadow = Schema.Struct({ instanceId: InstanceId, image: Schema.String, tier: Tier, settings: Schema.String })
export type CurrentShadow = typeof CurrentShadow.Type

/** The client's current shadow, from the commands this saga recorded. */
export const ShadowSagaState = Schema.Struct({ current: Schema.optional(CurrentShadow) })
export type ShadowSagaState = typeof ShadowSagaState.Type

export interface ShadowSagaPolicy {
  readonly sizing: SizingPolicy
  readonly pool: PoolPolicy
}

/** The client's current shadow after one more recorded step (what a launch reads to find the shadow). */
export const evolveShadowSaga = (state: ShadowSagaState, { event, commands }: SagaStep): ShadowSagaState => {
  // A launch released the shadow (its production took over): it is no longer this saga's to resize or recycle.
  if (event._tag === "ShadowReleased") {
    return event.shadowInstanceId === state.current?.instanceId ? { current: undefined } : state
  }
  let current = state.current
  for (const { command } of commands) {
    if ((command._tag === "DeployShadow" || command._tag === "ClaimPooledInstance") && event._tag === "ProfileCreated") {
      current = { instanceId: command.instanceId, ...poolKeyOf(event.tier, event.template) }
    } else if ((command._tag === "RecycleInstance" || command._tag === "TerminateInstance") && command.instanceId === current?.instanceId) {
      current = undefined
    }
  }
  return { current }
}

/** How the shadow saga's streams fold: what its runner and the query for a client's current shadow share. */
export const shadowSagaFold: SagaFold<ShadowSagaState> = {
  name: shadowSagaName,
  initialState: { current: undefined },
  evolve: evolveShadowSaga,
  snapshot: { version: 1, schema: ShadowSagaState }
}

const decide = (policy: ShadowSagaPolicy) => (input: SagaInput<PoolView>, state: ShadowSagaState): ReadonlyArray<DomainCommand> => {
  const { event } = input
  const pool = input.view ?? emptyPool
  switch (event._tag) {
    case "ProfileCreated": {
      const resources = shadowResources(event.expected, policy.sizing)
      // A profile has one live shadow: a leftover one goes before the next is started.
      const leftover: ReadonlyArray<DomainCommand> =
        state.current === undefined ? [] : [{ _tag: "TerminateInstance", instanceId: state.current.instanceId, reason: "profile recreated" }]
      const pooled = pool.available[0]
      const start: DomainCommand =
        pooled !== undefined
          ? { _tag: "ClaimPooledInstance", instanceId: pooled, clientId: event.clientId, resources }
          : {
              _tag: "DeployShadow",
              instanceId: shadowInstanceId(input.tenant, event.clientId, input.eventId),
              clientId: event.clientId,
              tier: event.tier,
              template: event.template,
              network: event.network,
              resources
            }
      return [...leftover, start]
    }
    case "ProfileRefined":
      return state.current === undefined
        ? []
        : [
            {
              _tag: "ResizeInstance",
              instanceId: state.current.instanceId,
              resources: shadowResources(event.expected, policy.sizing),
              // The profile's own reason may already fill what a reason may hold.
              reason: `profile refined (${event.source}): ${event.reason}`.slice(0, 512)
            }
          ]
    case "ClientDisconnected":
      if (state.current === undefined) return []
      return shouldRecycle(policy.pool, pool.size)
        ? [{ _tag: "RecycleInstance", instanceId: state.current.instanceId }]
        : [{ _tag: "TerminateInstance", instanceId: state.current.instanceId, reason: "client disconnected" }]
    default:
      return []
  }
}

/**
 * The shadow's lifecycle for one client, as a decider: ProfileCreated → DeployShadow (or claim a pooled
 * shadow of the same image, tier and settings), ProfileRefined → ResizeInstance, ClientDisconnected →
 * RecycleInstance or TerminateInstance; ShadowReleased (a launch handed the client to production) → the
 * shadow is forgotten. The pool is looked up by the runner and recorded with the decision, so a redelivered
 * event replays the same commands however the pool changed since.
 */
export const makeShadowSaga = (policy: ShadowSagaPolicy): Saga<ShadowSagaState, PoolKey, PoolView> => ({
  categories: ["profile", "client", "launch"],
  handles: ["ProfileCreated", "ProfileRefined", "ClientDisconnected", "ShadowReleased"],
  keyOf: (event) => ("clientId" in event ? event.clientId : ""),
  lookup: (event, state) => {
    if (event._tag === "ProfileCreated") return poolKeyOf(event.tier, event.template)
    if (event._tag === "ClientDisconnected" && state.current !== undefined) return state.current
    return undefined
  },
  ...shadowSagaFold,
  decide: decide(policy),
  // A pooled shadow claimed meanwhile by another node → a fresh shadow; one that cannot be recycled → terminated.
  insteadOf: (refused, input) => {
    if (refused._tag === "ClaimPooledInstance") return decide(policy)({ ...input, view: emptyPool }, { current: undefined })
    if (refused._tag === "RecycleInstance") {
      return [{ _tag: "TerminateInstance", instanceId: refused.instanceId, reason: "client disconnected; shadow not recyclable" }]
    }
    return []
  }
})
