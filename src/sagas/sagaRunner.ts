import { Effect, Option } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { type Saga, type SagaCommand, type SagaInput, sagaStream } from "../../domain/sagas/saga.ts"
import { subjects } from "../../domain/subjects.ts"
import { CommandHandler } from "../commands/commandHandler.ts"
import { issueOrLogRefusal } from "../commands/issueCommand.ts"
import { EventBus } from "../eventBus.ts"
import { makeKeyedLock } from "../keyedLock.ts"
import { makeStepRecorder } from "./sagaSteps.ts"

/** How the runner answers what a saga asks to look up (the shadow saga's pool, for example). */
export type SagaLookup<Lookup, View, E, R> = (tenant: string, lookup: Lookup) => Effect.Effect<View, E, R>

const nothingToLookUp = (): Effect.Effect<never> => Effect.die("this saga looks nothing up")

/**
 * One saga step per input event: look up what the saga asks for, record what it decided (once, in its own
 * stream), then send it; a refused command gets what the saga sends instead, as a step of its own. A
 * redelivered event finds its step recorded and sends the same commands again, which the command handler
 * answers as duplicates: the saga acts once per event even across a crash between the two.
 */
export const makeSagaStep = <State, Lookup, View, E = never, R = never>(
  saga: Saga<State, Lookup, View>,
  lookUp: SagaLookup<Lookup, View, E, R> = nothingToLookUp
) =>
  Effect.gen(function* () {
    const services = yield* Effect.context<R | CommandHandler>()
    const recordStep = yield* makeStepRecorder(saga)
    // The consumers of several categories may deliver one client's events at once: one step at a time per stream.
    const withSagaLock = makeKeyedLock()

    const send = (input: StoredEvent, { commandId, command }: SagaCommand) =>
      issueOrLogRefusal(input.tenant, { commandId, correlationId: input.correlationId }, command).pipe(
        Effect.map(Option.isSome),
        Effect.annotateLogs({ commandId, commandType: command._tag })
      )

    const step = Effect.fnUntraced(function* (input: StoredEvent) {
      if (!(saga.handles as ReadonlyArray<string>).includes(input.type)) return
      const event = yield* decodeEvent(input)
      const stream = sagaStream(saga.name, input.tenant, saga.keyOf(event))
      yield* withSagaLock(
        stream,
        Effect.gen(function* () {
          const decided = yield* recordStep(stream, input.id, input, event, (state) => {
            const lookup = saga.lookup?.(event, state)
            const view: Effect.Effect<View | undefined, E, R> = lookup === undefined ? Effect.succeed(undefined) : lookUp(input.tenant, lookup)
            return view.pipe(
              Effect.map((view) => saga.decide({ tenant: input.tenant, eventId: input.id, event, view }, state))
            )
          })
          for (const sent of decided) {
            if ((yield* send(input, sent)) || saga.insteadOf === undefined) continue
            const sagaInput: SagaInput<View> = { tenant: input.tenant, eventId: input.id, event, view: undefined }
            const instead = yield* recordStep(stream, `${input.id}/instead-of/${sent.commandId}`, input, event, (state) =>
              Effect.succeed(saga.insteadOf!(sent.command, sagaInput, state)))
            for (const command of instead) yield* send(input, command)
          }
        })
      )
    }, Effect.annotateLogs({ saga: saga.name }))

    return (input: StoredEvent) => step(input).pipe(Effect.provideContext(services))
  })

/**
 * Inputs a saga's consumer handles at once: the steps of different clients overlap, so their appends share
 * the store's commits; one saga stream still takes one step at a time, in order (the saga lock).
 */
const sagaConcurrency = 32

/** Runs a saga on a durable consumer of UMBRA_EVENTS per category it reads, until the scope closes. */
export const runSaga = <State, Lookup, View, E = never, R = never>(saga: Saga<State, Lookup, View>, lookUp?: SagaLookup<Lookup, View, E, R>) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const step = yield* makeSagaStep(saga, lookUp)
    for (const category of saga.categories) {
      const consumer = { durable: `saga-${saga.name}-${category}`, filterSubject: subjects.eventsOf("*", category), concurrency: sagaConcurrency }
      yield* bus.consumeEvents(consumer, (delivered) =>
        step(delivered.event).pipe(
          Effect.annotateLogs({ tenant: delivered.event.tenant, correlationId: delivered.event.correlationId, eventId: delivered.event.id })
        )
      )
    }
  })
