import { Effect } from "effect"
import { decodeEvent, type DomainEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { nameBasedId } from "../../domain/eventId.ts"
import type { IssuedCommand } from "../../domain/sagas/sagaStep.ts"
import { emptyPool, type ShadowSaga } from "../../domain/sagas/shadowSaga.ts"
import { streamName } from "../../domain/streams.ts"
import { subjects } from "../../domain/subjects.ts"
import { CommandHandler } from "../commands/commandHandler.ts"
import { EventBus } from "../eventBus.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { InstanceRuntime } from "../instanceRuntime.ts"
import { makeKeyedLock } from "../keyedLock.ts"
import { makeStepRecorder } from "../sagas/sagaSteps.ts"
import { issueCommand } from "./issueCommand.ts"
import { poolView } from "./pool.ts"

/**
 * Runs the shadow saga like `makeSagaStep` runs any saga — decide, record the step in the saga's stream,
 * then send — with the pool looked up before deciding. The lookup is recorded with the decision, so a
 * redelivered event replays the same commands however the pool changed since.
 */
export const makeShadowSagaStep = (saga: ShadowSaga) =>
  Effect.gen(function* () {
    const services = yield* Effect.context<InstanceRuntime | EventStore | CommandHandler>()
    const withSagaLock = makeKeyedLock()

    const recordStep = yield* makeStepRecorder(saga)

    /** Sends a command; returns whether the aggregate refused it (a refusal is an outcome, not a fault). */
    const send = (input: StoredEvent, command: IssuedCommand) =>
      issueCommand(input.tenant, command.type, command.commandId, command.data, input.correlationId).pipe(
        Effect.as(true),
        Effect.catchTags({
          IllegalState: (error) => Effect.logWarning("shadow saga command refused", { message: error.message }).pipe(Effect.as(false)),
          NotFound: (error) => Effect.logWarning("shadow saga command refused", { message: error.message }).pipe(Effect.as(false)),
          ValidationFailed: (error) => Effect.logError("shadow saga sent an invalid command", { message: error.message }).pipe(Effect.as(false))
        }),
        Effect.annotateLogs({ commandType: command.type })
      )

    /**
     * Refusals with a fallback: a pooled shadow claimed meanwhile by another node → a fresh shadow (a step of
     * its own, so it is recorded before it is sent); a shadow that cannot be recycled (lost, not yet started)
     * → terminated, with an id derived from the refused command.
     */
    const fallback = (stream: string, input: StoredEvent, event: DomainEvent, refused: IssuedCommand) =>
      Effect.gen(function* () {
        if (refused.type === "ClaimPooledInstance") {
          const fresh = yield* recordStep(stream, `${input.id}/fresh`, input, () =>
            Effect.succeed(saga.decide({ tenant: input.tenant, eventId: input.id, event, pool: emptyPool }, saga.initialState)))
          for (const command of fresh) yield* send(input, command)
        } else if (refused.type === "RecycleInstance") {
          yield* send(input, {
            commandId: nameBasedId(`${refused.commandId}/terminate`),
            type: "TerminateInstance",
            data: { instanceId: refused.data["instanceId"], reason: "client disconnected; shadow not recyclable" }
          })
        }
      })

    const step = Effect.fn("ShadowSaga.step")(function* (input: StoredEvent) {
      if (!(saga.handles as ReadonlyArray<string>).includes(input.type)) return
      const event = yield* decodeEvent(input)
      const stream = streamName("saga", input.tenant, `${saga.name}-${saga.keyOf(event)}`)
      yield* withSagaLock(
        stream,
        Effect.gen(function* () {
          const commands = yield* recordStep(stream, input.id, input, (state) => {
            const key = saga.poolKeyOf(event, state)
            return (key === undefined ? Effect.succeed(emptyPool) : poolView(input.tenant, key)).pipe(
              Effect.map((pool) => saga.decide({ tenant: input.tenant, eventId: input.id, event, pool }, state))
            )
          })
          for (const command of commands) {
            if (!(yield* send(input, command))) yield* fallback(stream, input, event, command)
          }
        })
      )
    }, Effect.annotateLogs({ saga: saga.name }))

    return (input: StoredEvent) => step(input).pipe(Effect.provideContext(services))
  })

/** Runs the shadow saga on durable consumers of the profile, client and launch events until the scope closes. */
export const runShadowSaga = (saga: ShadowSaga) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const step = yield* makeShadowSagaStep(saga)
    for (const category of ["profile", "client", "launch"] as const) {
      yield* bus.consumeEvents({ durable: `saga-${saga.name}-${category}`, filterSubject: subjects.eventsOf("*", category) }, (delivered) =>
        step(delivered.event).pipe(
          Effect.annotateLogs({ tenant: delivered.event.tenant, correlationId: delivered.event.correlationId, eventId: delivered.event.id })
        )
      )
    }
  })
