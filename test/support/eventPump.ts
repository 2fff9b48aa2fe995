import { Effect } from "effect"
import type { StoredEvent } from "../../domain/envelope.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"

/**
 * The bus, in one process: feeds every stored event not yet `delivered`, in order, to each step, until the
 * steps append nothing new. Returns the delivered ids, to go on from later.
 */
export const pumpStoredEvents = <E, R>(
  steps: ReadonlyArray<(event: StoredEvent) => Effect.Effect<unknown, E, R>>,
  delivered: Set<string> = new Set()
) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    for (;;) {
      const fresh = (yield* store.readAll()).filter((event) => !delivered.has(event.id))
      if (fresh.length === 0) return delivered
      for (const event of fresh) {
        delivered.add(event.id)
        for (const step of steps) yield* step(event)
      }
    }
  })
