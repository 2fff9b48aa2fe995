import { Effect } from "effect"
import type { Position } from "../../domain/envelope.ts"
import type { EventStore } from "./eventStore.ts"

/** How far a reader of the global log is behind: the events after its position, from the start when it has none. */
export interface EventsBehind {
  readonly pending: number
  /** The count stopped at the cap: there are at least `pending`. */
  readonly capped: boolean
}

/** Counts up to `cap` events, to keep the question cheap however far behind the reader is. */
export const eventsAfter = (store: EventStore["Service"], position: Position | undefined, cap = 10_000) =>
  store.readAll(position === undefined ? { limit: cap } : { after: position, limit: cap }).pipe(
    Effect.map((events): EventsBehind => ({ pending: events.length, capped: events.length === cap }))
  )
