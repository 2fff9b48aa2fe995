import { Duration, Effect, Schema, Stream } from "effect"
import { decodeEvent, type DomainEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { subjects } from "../../domain/subjects.ts"
import { EventBus } from "../../src/eventBus.ts"

/** A step of the demo did not see what it waited for in time. */
export class DemoStepFailed extends Schema.TaggedError<DemoStepFailed>()("DemoStepFailed", { message: Schema.String }) {}

/** An event as the tenant received it: its envelope and its decoded data. */
export interface SeenEvent {
  readonly stored: StoredEvent
  readonly event: DomainEvent
}

type EventOf<K extends DomainEvent["_tag"]> = Extract<DomainEvent, { readonly _tag: K }>

/** A matcher for `waitFor`: an event of type `tag` for which `and` holds. */
export const eventOf =
  <K extends DomainEvent["_tag"]>(tag: K, and: (event: EventOf<K>, stored: StoredEvent) => boolean = () => true) =>
  (event: DomainEvent, stored: StoredEvent): event is EventOf<K> =>
    event._tag === tag && and(event as EventOf<K>, stored)

/**
 * The tenant's events as it reads them from JetStream (its own consumer, its own credentials), from the
 * start, gathered in arrival order by a fiber of the current scope; `waitFor` looks among them.
 */
export const followTenant = (tenant: string) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const seen: Array<SeenEvent> = []
    yield* bus.followEvents({ filterSubject: subjects.eventsOf(tenant), from: "start" }).pipe(
      Stream.runForEach(({ event: stored }) =>
        decodeEvent(stored).pipe(
          Effect.map((event) => void seen.push({ stored, event })),
          Effect.catch((error) => Effect.logWarning("the demo cannot read an event", { message: error.message }))
        )
      ),
      Effect.forkScoped
    )

    /** The first event (from index `after` on) that `matches`, within `timeoutMs`, else a DemoStepFailed naming `what`. */
    const waitFor = <T extends DomainEvent>(
      what: string,
      matches: (event: DomainEvent, stored: StoredEvent) => event is T,
      timeoutMs: number,
      after = 0
    ) =>
      Effect.gen(function* () {
        for (let i = after; ; i++) {
          while (i >= seen.length) yield* Effect.sleep("100 millis")
          const { event, stored } = seen[i]!
          if (matches(event, stored)) return { event, stored, index: i }
        }
      }).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(timeoutMs),
          orElse: () => Effect.fail(new DemoStepFailed({ message: `no ${what} within ${Math.round(timeoutMs / 1000)} s` }))
        })
      )

    return { waitFor, all: () => seen as ReadonlyArray<SeenEvent>, count: () => seen.length }
  })

export type TenantFeed = Effect.Success<ReturnType<typeof followTenant>>
