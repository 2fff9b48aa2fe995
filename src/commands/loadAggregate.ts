import { Effect, Schema } from "effect"
import { decodeEvent, type DomainEvent } from "../../domain/catalog.ts"
import { type Aggregate, fold } from "../../domain/decider.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { streamName } from "../../domain/streams.ts"
import { EventStore } from "../eventStore/eventStore.ts"

export interface LoadedAggregate<Event, State> {
  readonly state: State
  /** The aggregate's events with their envelopes, oldest first. */
  readonly events: ReadonlyArray<{ readonly stored: StoredEvent; readonly event: Event }>
  /** The revision of the stream's last event; undefined for a stream that does not exist. */
  readonly revision: number | undefined
  /** The id of the stream's last event (it names the aggregate's current epoch for the runners). */
  readonly lastEventId: string | undefined
}

const guards = new WeakMap<object, (event: DomainEvent) => boolean>()
const isEventOf = (aggregate: Aggregate<any, any, any>) => {
  let guard = guards.get(aggregate)
  if (guard === undefined) {
    guard = Schema.is(aggregate.events) as (event: DomainEvent) => boolean
    guards.set(aggregate, guard)
  }
  return guard
}

/** Reads an aggregate's stream and folds it: what a runner checks before it acts, so a redelivery acts once. */
export const loadAggregate = Effect.fn("Aggregate.load")(function* <C extends { readonly _tag: string }, E extends { readonly _tag: string }, S>(
  aggregate: Aggregate<C, E, S>,
  tenant: string,
  id: string
) {
  const stored = yield* (yield* EventStore).readStream(streamName(aggregate.category, tenant, id))
  const isOwn = isEventOf(aggregate)
  const events: Array<{ readonly stored: StoredEvent; readonly event: E }> = []
  for (const entry of stored) {
    const event = yield* decodeEvent(entry)
    if (isOwn(event)) events.push({ stored: entry, event: event as unknown as E })
  }
  const last = stored[stored.length - 1]
  const loaded: LoadedAggregate<E, S> = {
    state: fold(aggregate.decider, events.map(({ event }) => event)),
    events,
    revision: last?.revision,
    lastEventId: last?.id
  }
  return loaded
})
