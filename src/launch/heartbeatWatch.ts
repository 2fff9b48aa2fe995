import { Clock, Effect, Ref, Schedule, Stream } from "effect"
import { subjects } from "../../domain/subjects.ts"
import { EventBus } from "../eventBus.ts"
import { decodeSignal } from "../telemetry/signalDecoding.ts"

/** The last heartbeat of one instance, by this process's clock. */
export interface LastBeat {
  readonly atMs: number | undefined
  readonly ready: boolean
}

/**
 * Follows one instance's heartbeats for as long as the scope lasts and returns a reading of the last one:
 * a launch judges its production by it (ready to take traffic, and still beating).
 */
export const watchHeartbeats = Effect.fn("Launch.watchHeartbeats")(function* (tenant: string, instanceId: string) {
  const bus = yield* EventBus
  const last = yield* Ref.make<LastBeat>({ atMs: undefined, ready: false })
  yield* bus.followSignals({ filterSubject: subjects.signal(tenant, instanceId, "hb"), from: "now" }).pipe(
    Stream.runForEach((signal) =>
      Effect.gen(function* () {
        const decoded = decodeSignal(signal)
        if (decoded?.kind !== "hb") return
        yield* Ref.set(last, { atMs: yield* Clock.currentTimeMillis, ready: decoded.heartbeat.ready })
      })
    ),
    // A NATS restart ends the follower; follow again (a missed beat or two only ages the reading).
    Effect.catch((error) => Effect.logWarning("lost the production heartbeats; following again", { message: error.message })),
    Effect.repeat(Schedule.spaced("200 millis")),
    Effect.forkScoped
  )
  return Ref.get(last)
})
