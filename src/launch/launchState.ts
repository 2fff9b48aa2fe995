import { Effect } from "effect"
import { launchAggregate, stageOf } from "../../domain/launch/launch.ts"
import { loadAggregate, loadAggregateHistory } from "../commands/loadAggregate.ts"

/** Folds the launch's stream: the runner reads it before every step, so a resumed launch repeats nothing done. */
export const loadLaunch = Effect.fn("Launch.load")(function* (tenant: string, launchId: string) {
  const { state, events } = yield* loadAggregateHistory(launchAggregate, tenant, launchId)
  return { state, events: events.map(({ stored, event }) => ({ at: stored.at, event })) }
})

/** A launch's stage now: what the production saga looks up when a client disconnects. */
export const loadLaunchStage = (tenant: string, lookup: { readonly launchId: string }) =>
  loadAggregate(launchAggregate, tenant, lookup.launchId).pipe(Effect.map(({ state }) => stageOf(state)))
