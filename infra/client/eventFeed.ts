import { Effect, Stream } from "effect"
import { decodeEvent, type DomainEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { subjects } from "../../domain/subjects.ts"
import { EventBus, type FollowFrom } from "../../src/eventBus.ts"
import { BusError, EventUnreadable } from "./clientErrors.ts"

/** One of the tenant's events: where JetStream holds it, its envelope, and its data decoded to today's schema. */
export interface UmbraEvent {
  /** The UMBRA_EVENTS stream sequence: follow again `from: seq + 1` to resume after this event. */
  readonly seq: number
  readonly envelope: Omit<StoredEvent, "data">
  readonly event: DomainEvent
}

/** Where a subscription starts: the first event kept, only events that arrive from now on, or a stream sequence. */
export type EventsFrom = FollowFrom

/**
 * The tenant's events through the bus's ordered consumer (a tenant's own inbox, filtered to its subjects),
 * each read up through the catalog's upcasters as the server's reads do.
 */
export const tenantEvents = (tenant: string, from: EventsFrom) =>
  Stream.unwrap(EventBus.use((bus) => Effect.succeed(bus.followEvents({ filterSubject: subjects.eventsOf(tenant), from })))).pipe(
    Stream.mapError((error) =>
      new BusError(error.message.includes("Permissions Violation") ? "NotPermitted" : "Unreachable", error.message, { tenant })
    ),
    Stream.mapEffect(({ seq, event: { data, ...envelope } }) =>
      decodeEvent({ ...envelope, data }).pipe(
        Effect.map((event): UmbraEvent => ({ seq, envelope, event })),
        Effect.mapError((error) => new EventUnreadable(seq, error.message, error.details))
      )
    )
  )
