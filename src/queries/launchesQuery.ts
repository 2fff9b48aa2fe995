import { Effect, Schema } from "effect"
import { ClientId } from "../../domain/ids.ts"
import { type LaunchTimelineFold, outcomeOf } from "../../projections/launchTimeline.ts"
import { launches, launchesKeys } from "../../projections/launches.ts"
import { afterCatchingUp } from "./caughtUp.ts"
import { notFoundIn } from "./notFoundIn.ts"
import { fromReadModel } from "./readModelAnswer.ts"
import { readRow, readRows } from "./readModelRows.ts"

/** `{}` for every launch of the tenant, `{clientId}` for one client's. */
export const LaunchesQuery = Schema.Struct({ clientId: Schema.optionalKey(ClientId) })

/** `umbra.query.<tenant>.Launches`: every launch (of a client), oldest request first, each with its stage, weight, timings and outcome. */
export const launchesQuery = (tenant: string, query: typeof LaunchesQuery.Type) =>
  Effect.gen(function* () {
    const { clientId } = query
    if (clientId !== undefined && (yield* readRow<unknown>(launches.name, launchesKeys.client(tenant, clientId))) === undefined) {
      return yield* notFoundIn(launches.name, `there is no client ${clientId}`, { clientId })
    }
    const rows = yield* readRows<LaunchTimelineFold>(launches.name, launchesKeys.launches(tenant))
    const timelines = rows
      .map(({ timeline }) => timeline)
      .filter((timeline) => clientId === undefined || timeline.clientId === clientId)
      .sort((a, b) => Date.parse(a.stages[0]!.at) - Date.parse(b.stages[0]!.at))
    return { launches: timelines.map((timeline) => ({ ...timeline, outcome: outcomeOf(timeline.stage) })) }
  }).pipe(fromReadModel(launches.name), afterCatchingUp(launches), Effect.withSpan("Query.Launches"))
