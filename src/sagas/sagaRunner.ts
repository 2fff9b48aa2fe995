import { DateTime, Effect, Schedule } from "effect"
import { decodeEvent, encodeEvent } from "../../domain/catalog.ts"
import { fold } from "../../domain/decider.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { nameBasedId } from "../../domain/eventId.ts"
import type { CommandId } from "../../domain/ids.ts"
import type { Saga } from "../../domain/sagas/saga.ts"
import type { IssuedCommand, SagaStepRecorded } from "../../domain/sagas/sagaStep.ts"
import { streamName } from "../../domain/streams.ts"
import { subjects } from "../../domain/subjects.ts"
import { CommandHandler } from "../commands/commandHandler.ts"
import { EventBus } from "../eventBus.ts"
import { EventStore } from "../eventStore/eventStore.ts"

/**
 * One saga step per input event: record what the saga decided (once, in its own stream), then send it.
 * A redelivered event finds its step recorded and sends the same commands again, which the command
 * handler answers as duplicates: the saga acts once per event even across a crash between the two.
 */
export const makeSagaStep = <State>(saga: Saga<State>) =>
  Effect.gen(function* () {
    const store = yield* EventStore
    const handler = yield* CommandHandler

    const recordStep = (input: StoredEvent, stream: string) =>
      Effect.gen(function* () {
        const history = yield* store.readStream(stream)
        const steps: Array<SagaStepRecorded> = []
        for (const stored of history) {
          const event = yield* decodeEvent(stored)
          if (event._tag === "SagaStepRecorded") steps.push(event)
        }
        const done = steps.find((step) => step.input.eventId === input.id)
        if (done !== undefined) return done.commands
        const event = yield* decodeEvent(input)
        const state = fold(saga, steps)
        const commands: ReadonlyArray<IssuedCommand> = saga.decide(event, state).map((output, index) => ({
          commandId: nameBasedId(`${saga.name}/${input.id}/${index}`),
          type: output.type,
          data: output.data
        }))
        const step = encodeEvent({
          _tag: "SagaStepRecorded",
          saga: saga.name,
          input: { eventId: input.id, type: input.type, stream: input.stream, data: input.data },
          commands
        })
        yield* store.append(stream, history[history.length - 1]?.revision ?? "no_stream", [
          {
            id: nameBasedId(`${saga.name}/${input.id}`),
            type: step.type,
            at: DateTime.formatIso(yield* DateTime.now),
            tenant: input.tenant,
            correlationId: input.correlationId,
            causationId: input.id,
            schemaVersion: step.schemaVersion,
            data: step.data
          }
        ])
        return commands
      }).pipe(
        Effect.retry({
          while: (error) => error._tag === "ConcurrencyConflict" || error._tag === "DuplicateEventId",
          schedule: Schedule.exponential("5 millis"),
          times: 8
        })
      )

    const send = (input: StoredEvent, command: IssuedCommand) =>
      Effect.gen(function* () {
        const at = DateTime.formatIso(yield* DateTime.now)
        yield* handler
          .handle({
            tenant: input.tenant,
            type: command.type,
            commandId: command.commandId as CommandId,
            correlationId: input.correlationId,
            data: command.data,
            at
          })
          .pipe(
            // A command the aggregate refuses is an outcome, not a fault: retrying would change nothing.
            Effect.catchTags({
              IllegalState: (error) => Effect.logWarning("saga command refused", { message: error.message }),
              NotFound: (error) => Effect.logWarning("saga command refused", { message: error.message }),
              ValidationFailed: (error) => Effect.logError("saga sent an invalid command", { message: error.message })
            }),
            Effect.annotateLogs({ commandId: command.commandId, commandType: command.type })
          )
      })

    return Effect.fn("Saga.step")(function* (input: StoredEvent) {
      if (!(saga.handles as ReadonlyArray<string>).includes(input.type)) return
      const event = yield* decodeEvent(input)
      const stream = streamName("saga", input.tenant, `${saga.name}-${saga.keyOf(event)}`)
      const commands = yield* recordStep(input, stream)
      for (const command of commands) yield* send(input, command)
    }, Effect.annotateLogs({ saga: saga.name }))
  })

/** Runs a saga on its durable consumer of UMBRA_EVENTS until the scope closes. */
export const runSaga = <State>(saga: Saga<State>) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const step = yield* makeSagaStep(saga)
    yield* bus.consumeEvents(
      { durable: `saga-${saga.name}`, filterSubject: subjects.eventsOf("*", saga.category) },
      (delivered) =>
        step(delivered.event).pipe(
          Effect.annotateLogs({ tenant: delivered.event.tenant, correlationId: delivered.event.correlationId, eventId: delivered.event.id })
        )
    )
  })
