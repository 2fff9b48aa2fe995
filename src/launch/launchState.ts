import { Effect } from "effect"
import { launchAggregate, stageOf } from "../../domain/launch/launch.ts"
import type { LaunchLookup, LaunchView } from "../../domain/sagas/productionSaga.ts"
import { loadAggregate, loadAggregateHistory } from "../commands/loadAggregate.ts"
import { InstanceRuntime, instanceKey } from "../instanceRuntime.ts"

/** Folds the launch's stream: the runner reads it before every step, so a resumed launch repeats nothing done. */
export const loadLaunch = Effect.fn("Launch.load")(function* (tenant: string, launchId: string) {
  const { state, events } = yield* loadAggregateHistory(launchAggregate, tenant, launchId)
  return { state, events: events.map(({ stored, event }) => ({ at: stored.at, event })) }
})

/**
 * A launch as the production saga looks it up: its stage now, its plan, and (once it has completed)
 * production's runtime id, which only the runtime knows after the launch started it (a process's id).
 */
export const loadLaunchView = Effect.fn("Launch.view")(function* (tenant: string, lookup: LaunchLookup) {
  const { state } = yield* loadAggregate(launchAggregate, tenant, lookup.launchId)
  const stage = stageOf(state)
  const plan = "plan" in state ? state.plan : undefined
  const running = plan !== undefined && (state._tag === "Completed" || state._tag === "Released")
  const production = running ? yield* (yield* InstanceRuntime).inspect(instanceKey(tenant, plan.productionInstanceId)) : undefined
  const view: LaunchView = { stage, plan, productionRuntimeId: production?.runtimeId }
  return view
})
