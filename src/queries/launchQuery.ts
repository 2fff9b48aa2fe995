import { Effect, Schema } from "effect"
import { LaunchId } from "../../domain/ids.ts"
import type { LaunchTimelineFold } from "../../projections/launchTimeline.ts"
import { launches, launchesKeys } from "../../projections/launches.ts"
import { endpointUrl } from "../launch/endpoint.ts"
import { afterCatchingUp } from "./caughtUp.ts"
import { notFoundIn } from "./notFoundIn.ts"
import { fromReadModel } from "./readModelAnswer.ts"
import { readRow } from "./readModelRows.ts"

export const LaunchQuery = Schema.Struct({ launchId: LaunchId })

/** `umbra.query.<tenant>.Launch`: where a launch is, the time of every stage it reached, and the client's endpoint. */
export const launchQuery = (tenant: string, query: typeof LaunchQuery.Type) =>
  Effect.gen(function* () {
    const row = yield* readRow<LaunchTimelineFold>(launches.name, launchesKeys.launch(tenant, query.launchId))
    if (row === undefined) {
      return yield* notFoundIn(launches.name, `there is no launch ${query.launchId}`, { launchId: query.launchId })
    }
    return { ...row.timeline, endpoint: endpointUrl(tenant, row.timeline.clientId) }
  }).pipe(fromReadModel(launches.name), afterCatchingUp(launches), Effect.withSpan("Query.Launch"))
