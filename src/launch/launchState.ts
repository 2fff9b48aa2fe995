import { Effect } from "effect"
import { launchAggregate } from "../../domain/launch/launch.ts"
import { loadAggregateHistory } from "../commands/loadAggregate.ts"

/** Folds the launch's stream: the runner reads it before every step, so a resumed launch repeats nothing done. */
export const loadLaunch = Effect.fn("Launch.load")(function* (tenant: string, launchId: string) {
  const { state, events } = yield* loadAggregateHistory(launchAggregate, tenant, launchId)
  return { state, events: events.map(({ stored, event }) => ({ at: stored.at, event })) }
})
