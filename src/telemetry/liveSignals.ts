import { Effect, Schedule, Stream } from "effect"
import { type DeliveredSignal, EventBus } from "../eventBus.ts"

/**
 * Follows UMBRA_SIGNALS live (from now) under the current scope, handing each signal to `onSignal`. A NATS
 * restart ends the follower: it follows again, and the signals missed meanwhile only age what it keeps.
 */
export const followLiveSignals = <R>(filterSubject: string, follower: string, onSignal: (signal: DeliveredSignal) => Effect.Effect<void, never, R>) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    yield* bus.followSignals({ filterSubject, from: "now" }).pipe(
      Stream.runForEach(onSignal),
      Effect.catch((error) => Effect.logWarning(`${follower} lost UMBRA_SIGNALS; following again`, { message: error.message })),
      Effect.repeat(Schedule.spaced("200 millis")),
      Effect.forkScoped
    )
  })
