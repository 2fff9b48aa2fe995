import { Effect } from "effect"
import type { Watchdog, WatchedInstance } from "../../src/instances/watchdog.ts"

/** A watchdog that only remembers what it was asked to watch. */
export const recordingWatchdog = () => {
  const watched = new Map<string, WatchedInstance>()
  const watchdog: Watchdog = {
    watch: (instance) => Effect.sync(() => void watched.set(instance.instanceId, instance)),
    unwatch: (_, instanceId) => Effect.sync(() => void watched.delete(instanceId)),
    watched: Effect.sync(() => [...watched.values()]),
    badSignals: Effect.succeed(0),
    latencyRises: Effect.succeed(0)
  }
  return { watchdog, watched }
}
