import { Effect, Schema } from "effect"
import { NotFound } from "../../domain/errors.ts"
import { LaunchId } from "../../domain/ids.ts"
import { launchTimeline } from "../../projections/launchTimeline.ts"
import { endpointUrl } from "../launch/endpoint.ts"
import { loadLaunch } from "../launch/launchState.ts"

export const LaunchQuery = Schema.Struct({ launchId: LaunchId })

/** `umbra.query.<tenant>.Launch`: where a launch is, the time of every stage it reached, and the client's endpoint. */
export const launchQuery = Effect.fn("Query.Launch")(function* (tenant: string, query: typeof LaunchQuery.Type) {
  const { events } = yield* loadLaunch(tenant, query.launchId)
  const timeline = launchTimeline(events)
  if (timeline === undefined) {
    return yield* new NotFound({ message: `there is no launch ${query.launchId}`, details: { launchId: query.launchId } })
  }
  return { ...timeline, endpoint: endpointUrl(tenant, timeline.clientId) }
})
