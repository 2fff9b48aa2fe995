import { Effect, Schema } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import { fold } from "../../domain/decider.ts"
import { InstanceEvent, instanceDecider, type InstanceState } from "../../domain/instance/instance.ts"
import { streamName } from "../../domain/streams.ts"
import { EventStore } from "../eventStore/eventStore.ts"

const isInstanceEvent = Schema.is(InstanceEvent)

/** An instance's current state and the id of its last event (which names the current epoch of the instance). */
export interface LoadedInstance {
  readonly state: InstanceState
  readonly lastEventId: string | undefined
}

/** Folds the instance's stream: every runner checks it before acting, so a redelivered event acts only once. */
export const loadInstance = Effect.fn("Orchestrator.loadInstance")(function* (tenant: string, instanceId: string) {
  const store = yield* EventStore
  const stored = yield* store.readStream(streamName("instance", tenant, instanceId))
  const events = yield* Effect.forEach(stored, decodeEvent)
  return { state: fold(instanceDecider, events.filter(isInstanceEvent)), lastEventId: stored[stored.length - 1]?.id } satisfies LoadedInstance
})

/**
 * One run of an instance: a new container (recreation) or a new client (claim from the pool) starts another.
 * The watchdog keys its commands by it, so a loss in one run never dedupes against a loss in an earlier one.
 */
export const epochOf = (tenant: string, instanceId: string, state: Extract<InstanceState, { readonly runtimeId: string }>) =>
  `${tenant}/${instanceId}/${state.runtimeId}/${state.recreations}/${state.spec.clientId}`
