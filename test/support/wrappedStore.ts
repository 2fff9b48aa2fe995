import { Effect, Layer } from "effect"
import { EventStore, type EventStoreShape } from "../../src/eventStore/eventStore.ts"

/** The EventStore in context, with the operations `wrap` returns in place of its own. */
export const wrappedStore = (wrap: (store: EventStoreShape) => Partial<EventStoreShape>) =>
  Layer.effect(
    EventStore,
    Effect.gen(function* () {
      const store = yield* EventStore
      return EventStore.of({ ...store, ...wrap(store) })
    })
  )
