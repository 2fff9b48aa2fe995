import { Context, Effect, Layer, Schedule } from "effect"
import { decodeEvent, type DomainEvent, encodeEvent } from "../../domain/catalog.ts"
import { type CommandRoute, type DomainCommand, routeOf } from "../../domain/commands.ts"
import type { NewEvent, StoredEvent } from "../../domain/envelope.ts"
import type { DomainError } from "../../domain/errors.ts"
import { eventIdFor } from "../../domain/eventId.ts"
import type { CommandId } from "../../domain/ids.ts"
import { streamName } from "../../domain/streams.ts"
import type { ConcurrencyConflict, DuplicateEventId, StoreUnavailable } from "../eventStore/errors.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { makeKeyedLock } from "../keyedLock.ts"

/** A decided-upon command with what it carries besides its fields: who sent it, why, and when. */
export interface CommandEnvelope {
  readonly tenant: string
  readonly commandId: CommandId
  readonly correlationId: string
  readonly command: DomainCommand
  readonly at: string
}

export interface CommandOutcome {
  /** True when this command id was handled before: nothing was appended this time. */
  readonly duplicate: boolean
  readonly events: ReadonlyArray<StoredEvent>
}

export type CommandError = DomainError | ConcurrencyConflict | DuplicateEventId | StoreUnavailable

/** How many times a command is decided again on fresh state after losing a race for its stream. */
const conflictRetries = 8

export class CommandHandler extends Context.Service<
  CommandHandler,
  { readonly handle: (command: CommandEnvelope) => Effect.Effect<CommandOutcome, CommandError> }
>()("umbra/CommandHandler") {
  static readonly layer = Layer.effect(
    CommandHandler,
    Effect.gen(function* () {
      const store = yield* EventStore
      const withStreamLock = makeKeyedLock()

      const storedOf = (stream: string, first: number, events: ReadonlyArray<NewEvent>, last: StoredEvent["position"]) =>
        events.length === 1
          ? Effect.succeed<ReadonlyArray<StoredEvent>>([{ ...events[0]!, stream, revision: first, position: last }])
          : store.readStream(stream, { from: first, limit: events.length })

      const toNewEvents = (envelope: CommandEnvelope, decided: ReadonlyArray<DomainEvent>) =>
        decided.map((event, index): NewEvent => {
          const encoded = encodeEvent(event)
          return {
            id: eventIdFor(envelope.commandId, index),
            type: encoded.type,
            at: envelope.at,
            tenant: envelope.tenant,
            correlationId: envelope.correlationId,
            causationId: envelope.commandId,
            schemaVersion: encoded.schemaVersion,
            data: encoded.data
          }
        })

      /** Load, decide, append once; a repeated command id is answered from the stream itself. */
      const attempt = (envelope: CommandEnvelope, route: CommandRoute, stream: string) =>
        Effect.gen(function* () {
          const history = yield* store.readStream(stream)
          const earlier = history.filter((event) => event.causationId === envelope.commandId)
          if (earlier.length > 0) return { duplicate: true, events: earlier }
          const past = yield* Effect.forEach(history, decodeEvent)
          const decided = yield* route.decide(past, { tenant: envelope.tenant, at: envelope.at })
          if (decided.length === 0) return { duplicate: false, events: [] }
          const events = toNewEvents(envelope, decided)
          const last = history[history.length - 1]
          const result = yield* store.append(stream, last?.revision ?? "no_stream", events)
          const stored = yield* storedOf(stream, result.revision - events.length + 1, events, result.position)
          return { duplicate: !result.appended, events: stored }
        })

      const handle = Effect.fn("CommandHandler.handle")(function* (
        envelope: CommandEnvelope
      ): Effect.fn.Return<CommandOutcome, CommandError> {
        const route = routeOf(envelope.command)
        const stream = streamName(route.category, envelope.tenant, route.aggregateId)
        const outcome: CommandOutcome = yield* withStreamLock(
          stream,
          attempt(envelope, route, stream).pipe(
            Effect.retry({
              while: (error: CommandError) => error._tag === "ConcurrencyConflict",
              schedule: Schedule.exponential("5 millis").pipe(Schedule.jittered),
              times: conflictRetries
            })
          )
        )
        yield* Effect.logDebug("command handled", { stream, events: outcome.events.length, duplicate: outcome.duplicate })
        return outcome
      })

      return CommandHandler.of({ handle })
    })
  )
}
