import { Effect } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import { type AnyAggregate, isEventOf } from "../../domain/commands.ts"
import { type Aggregate, fold } from "../../domain/decider.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { streamName } from "../../domain/streams.ts"
import { EventStore, type EventStoreShape } from "../eventStore/eventStore.ts"
import { defaultFoldLimits, type FoldLimits, makeFoldedStreams } from "../eventStore/foldedStreams.ts"

type Folds = ReturnType<typeof makeFoldedStreams<unknown>>

/** An aggregate's streams folded with its decider, from memory or its snapshot and the events after it. */
export const makeAggregateFolds = (store: EventStoreShape, aggregate: AnyAggregate, limits: FoldLimits = defaultFoldLimits): Folds => {
  const isOwn = isEventOf(aggregate)
  return makeFoldedStreams<unknown>(
    store,
    {
      initialState: aggregate.decider.initialState,
      evolve: (state, stored) => Effect.map(decodeEvent(stored), (event) => (isOwn(event) ? aggregate.decider.evolve(state, event) : state)),
      causeOf: (stored) => stored.causationId,
      snapshot: aggregate.snapshot
    },
    limits
  )
}

// One cache per store and aggregate: the runners may run against several stores (one per test, say).
const foldsByStore = new WeakMap<EventStoreShape, Map<AnyAggregate, Folds>>()

/**
 * An aggregate's current state and revision: what a runner checks before it acts, so a redelivered event
 * acts only once. It costs what is new in the stream since this process last looked.
 */
export const loadAggregate = Effect.fn("Aggregate.load")(function* <C extends { readonly _tag: string }, E extends { readonly _tag: string }, S>(
  aggregate: Aggregate<C, E, S>,
  tenant: string,
  id: string
) {
  const store = yield* EventStore
  const erased = aggregate as unknown as AnyAggregate
  const byAggregate = foldsByStore.get(store) ?? new Map<AnyAggregate, Folds>()
  foldsByStore.set(store, byAggregate)
  let folds = byAggregate.get(erased)
  if (folds === undefined) {
    folds = makeAggregateFolds(store, erased)
    byAggregate.set(erased, folds)
  }
  const folded = yield* folds.current(streamName(aggregate.category, tenant, id))
  return { state: folded.state as S, revision: folded.revision }
})

/** The aggregate's whole history with its state: for what needs every event (a timeline), not for deciding. */
export const loadAggregateHistory = Effect.fn("Aggregate.loadHistory")(function* <C extends { readonly _tag: string }, E extends { readonly _tag: string }, S>(
  aggregate: Aggregate<C, E, S>,
  tenant: string,
  id: string
) {
  const stored = yield* (yield* EventStore).readStream(streamName(aggregate.category, tenant, id))
  const isOwn = isEventOf(aggregate as unknown as AnyAggregate)
  const events: Array<{ readonly stored: StoredEvent; readonly event: E }> = []
  for (const entry of stored) {
    const event = yield* decodeEvent(entry)
    if (isOwn(event)) events.push({ stored: entry, event: event as unknown as E })
  }
  return { state: fold(aggregate.decider, events.map(({ event }) => event)), events }
})
