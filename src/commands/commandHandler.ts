import { Context, Effect, Layer, Schedule } from "effect"
import { type DomainEvent, encodeEvent } from "../../domain/catalog.ts"
import { type AnyAggregate, type CommandRoute, type DomainCommand, routeOf } from "../../domain/commands.ts"
import type { NewEvent, StoredEvent } from "../../domain/envelope.ts"
import type { DomainError } from "../../domain/errors.ts"
import { eventIdFor } from "../../domain/eventId.ts"
import type { CommandId } from "../../domain/ids.ts"
import { streamName } from "../../domain/streams.ts"
import type { ConcurrencyConflict, DuplicateEventId, StoreUnavailable } from "../eventStore/errors.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { defaultFoldLimits, type FoldLimits, type Folded, recentCause } from "../eventStore/foldedStreams.ts"
import { makeKeyedLock } from "../keyedLock.ts"
import { makeAggregateFolds } from "./loadAggregate.ts"

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
  static readonly layer = Layer.effect(CommandHandler, Effect.suspend(() => makeCommandHandler(defaultFoldLimits)))
}

/**
 * The one command handler: the aggregate's state comes folded from memory, or from its snapshot, plus the
 * events after it; decide; append with the expected revision. A conflict forgets the folded state and
 * decides again on a fresh read. A command id among the stream's recent causes is answered from its
 * events; an older one is recognised by the store's unique event ids and answered from a full read.
 */
export const makeCommandHandler = (limits: FoldLimits) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const withStreamLock = makeKeyedLock()

    const foldsByAggregate = new Map<AnyAggregate, ReturnType<typeof makeAggregateFolds>>()
    const foldsOf = (aggregate: AnyAggregate) => {
      let folds = foldsByAggregate.get(aggregate)
      if (folds === undefined) {
        folds = makeAggregateFolds(store, aggregate, limits)
        foldsByAggregate.set(aggregate, folds)
      }
      return folds
    }

    const storedOf = (stream: string, first: number, events: ReadonlyArray<NewEvent>, last: StoredEvent["position"]) =>
      events.length === 1
        ? Effect.succeed<ReadonlyArray<StoredEvent>>([{ ...events[0]!, stream, revision: first, position: last }])
        : store.readStream(stream, { from: first, limit: events.length })

    const toNewEvents = (envelope: CommandEnvelope, stream: string, decided: ReadonlyArray<DomainEvent>) =>
      decided.map((event, index): NewEvent => {
        const encoded = encodeEvent(event)
        return {
          id: eventIdFor(envelope.tenant, stream, envelope.commandId, index),
          type: encoded.type,
          at: envelope.at,
          tenant: envelope.tenant,
          correlationId: envelope.correlationId,
          causationId: envelope.commandId,
          schemaVersion: encoded.schemaVersion,
          data: encoded.data
        }
      })

    /** The events an earlier handling of this command id appended, found by reading the whole stream. */
    const earlierByFullRead = (stream: string, commandId: CommandId) =>
      Effect.map(store.readStream(stream), (history) => history.filter((event) => event.causationId === commandId))

    const created = (route: CommandRoute, stream: string, folded: Folded<unknown>) =>
      folded.revision === -1 && route.aggregate.retention !== undefined
        ? store.setStreamMetadata(stream, route.aggregate.retention)
        : Effect.void

    /**
     * Decide on `folded` and append with its revision as the expected one; a repeated command id is answered
     * from the stream itself. Undefined when the command decides nothing.
     */
    const decideAndAppend = (envelope: CommandEnvelope, route: CommandRoute, stream: string, folded: Folded<unknown>) =>
      Effect.gen(function* () {
        const folds = foldsOf(route.aggregate)
        const earlier = recentCause(folded, envelope.commandId)
        if (earlier !== undefined) {
          return { duplicate: true, events: yield* store.readStream(stream, { from: earlier.from, limit: earlier.count }) }
        }
        const decided = yield* route.aggregate.decider.decide(envelope.command, folded.state, { tenant: envelope.tenant, at: envelope.at })
        if (decided.length === 0) return undefined
        const events = toNewEvents(envelope, stream, decided)
        yield* created(route, stream, folded)
        const result = yield* store.append(stream, folded.revision === -1 ? "no_stream" : folded.revision, events).pipe(
          Effect.tapError((error) => (error._tag === "ConcurrencyConflict" ? folds.forget(stream) : Effect.void))
        )
        const stored = yield* storedOf(stream, result.revision - events.length + 1, events, result.position)
        if (result.appended) yield* folds.advance(stream, folded, stored, (state, index) => route.aggregate.decider.evolve(state, decided[index]!))
        return { duplicate: !result.appended, events: stored }
      })

    /**
     * Decide on the state this process folded last, or on a new stream's when it folded none (no read: the
     * expected revision guards the append), and again on the state read from the store when that refused,
     * decided nothing or met a newer revision (the guess was behind: read on at once, no backoff). A new
     * stream of an aggregate with retention is not guessed: its metadata is written before its first event,
     * on the store's word that it is new.
     */
    const attempt = (envelope: CommandEnvelope, route: CommandRoute, stream: string) =>
      Effect.gen(function* () {
        const folds = foldsOf(route.aggregate)
        const guessed = folds.guess(stream)
        if (guessed.revision !== -1 || route.aggregate.retention === undefined) {
          const optimistic = yield* decideAndAppend(envelope, route, stream, guessed).pipe(
            Effect.catch((error) => (error._tag === "StoreUnavailable" || error._tag === "DuplicateEventId" ? Effect.fail(error) : Effect.undefined))
          )
          if (optimistic !== undefined) return optimistic
        }
        return (yield* decideAndAppend(envelope, route, stream, yield* folds.current(stream))) ?? { duplicate: false, events: [] }
      }).pipe(
        Effect.catchTag("DuplicateEventId", (error) =>
          earlierByFullRead(stream, envelope.commandId).pipe(
            Effect.flatMap((earlier) => (earlier.length > 0 ? Effect.succeed({ duplicate: true, events: earlier }) : Effect.fail(error)))
          ))
      )

    const handle = Effect.fnUntraced(function* (
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
