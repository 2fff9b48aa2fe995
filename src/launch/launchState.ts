import { Effect, Schema } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import { fold } from "../../domain/decider.ts"
import { launchDecider, LaunchEvent, type LaunchState } from "../../domain/launch/launch.ts"
import { streamName } from "../../domain/streams.ts"
import { EventStore } from "../eventStore/eventStore.ts"

const isLaunchEvent = Schema.is(LaunchEvent)

export interface LoadedLaunch {
  readonly state: LaunchState
  /** The launch's events with the time each was recorded. */
  readonly events: ReadonlyArray<{ readonly at: string; readonly event: LaunchEvent }>
}

/** Folds the launch's stream: the runner reads it before every step, so a resumed launch repeats nothing done. */
export const loadLaunch = Effect.fn("Launch.load")(function* (tenant: string, launchId: string) {
  const store = yield* EventStore
  const events: Array<{ readonly at: string; readonly event: LaunchEvent }> = []
  for (const stored of yield* store.readStream(streamName("launch", tenant, launchId))) {
    const event = yield* decodeEvent(stored)
    if (isLaunchEvent(event)) events.push({ at: stored.at, event })
  }
  return { state: fold(launchDecider, events.map(({ event }) => event)), events } satisfies LoadedLaunch
})
