import { DateTime, Effect } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import type { CommandId } from "../../domain/ids.ts"
import type { Saga } from "../../domain/sagas/saga.ts"
import type { IssuedCommand } from "../../domain/sagas/sagaStep.ts"
import { streamName } from "../../domain/streams.ts"
import { subjects } from "../../domain/subjects.ts"
import { CommandHandler } from "../commands/commandHandler.ts"
import { EventBus } from "../eventBus.ts"
import { makeStepRecorder } from "./sagaSteps.ts"

/**
 * One saga step per input event: record what the saga decided (once, in its own stream), then send it.
 * A redelivered event finds its step recorded and sends the same commands again, which the command
 * handler answers as duplicates: the saga acts once per event even across a crash between the two.
 */
export const makeSagaStep = <State>(saga: Saga<State>) =>
  Effect.gen(function* () {
    const handler = yield* CommandHandler

    const recordStep = yield* makeStepRecorder(saga)

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
      const commands = yield* recordStep(stream, input.id, input, (state) => Effect.succeed(saga.decide(event, state)))
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
