import { Effect, Schema } from "effect"
import { LaunchId } from "../../domain/ids.ts"
import { endpointPortOf } from "../../domain/launch/endpointPort.ts"
import type { LaunchTimelineFold } from "../../projections/launchTimeline.ts"
import { launches, launchesKeys } from "../../projections/launches.ts"
import { endpointUrl } from "../launch/endpoint.ts"
import { afterCatchingUp } from "./caughtUp.ts"
import { notFoundIn } from "./notFoundIn.ts"
import { fromReadModel } from "./readModelAnswer.ts"
import { readRow } from "./readModelRows.ts"

export const LaunchQuery = Schema.Struct({ launchId: LaunchId })

/** `umbra.query.<tenant>.Launch`: where a launch is, the time of every stage it reached, and (once its plan is fixed) the client's endpoint. */
export const launchQuery = (tenant: string, query: typeof LaunchQuery.Type) =>
  Effect.gen(function* () {
    const row = yield* readRow<LaunchTimelineFold>(launches.name, launchesKeys.launch(tenant, query.launchId))
    if (row === undefined) {
      return yield* notFoundIn(launches.name, `there is no launch ${query.launchId}`, { launchId: query.launchId })
    }
    // The endpoint's port is fixed with the plan: before that the launch has none of its own.
    const plan = "plan" in row.state ? row.state.plan : undefined
    return plan === undefined
      ? row.timeline
      : { ...row.timeline, endpoint: endpointUrl(endpointPortOf(tenant, row.timeline.clientId, plan.endpointPort)) }
  }).pipe(fromReadModel(launches.name), afterCatchingUp(launches), Effect.withSpan("Query.Launch"))
