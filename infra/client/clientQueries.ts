import { Effect, Schema } from "effect"
import type { fleetQuery } from "../../src/queries/fleetQuery.ts"
import { ForecastQuery, type forecastQuery } from "../../src/queries/forecastQuery.ts"
import { LaunchesQuery, type launchesQuery } from "../../src/queries/launchesQuery.ts"
import { LaunchQuery, type launchQuery } from "../../src/queries/launchQuery.ts"
import type { livenessQuery } from "../../src/queries/livenessQuery.ts"
import type { profileQuery } from "../../src/queries/profileQuery.ts"
import { OfClient, TenantWide } from "../../src/queries/queryBodies.ts"
import type { tenantQuery } from "../../src/queries/tenantQuery.ts"
import { QueryRejected } from "./clientErrors.ts"

/** Every query by name, with the schema the query gateway decodes its body with. */
const queryBodies = {
  Fleet: TenantWide,
  Liveness: TenantWide,
  Profile: OfClient,
  Forecast: ForecastQuery,
  Launches: LaunchesQuery,
  Launch: LaunchQuery,
  Tenant: TenantWide
} as const

export type QueryName = keyof typeof queryBodies
export const queryNames = Object.keys(queryBodies) as ReadonlyArray<QueryName>

/** A query's body as JSON carries it. */
export type QueryBody<Q extends QueryName> = (typeof queryBodies)[Q]["Encoded"]

type Answer<F extends (...args: never) => Effect.Effect<unknown, unknown, unknown>> = Effect.Success<ReturnType<F>>

/** What each query answers: the success type of the server's own query function. */
export interface QueryResults {
  readonly Fleet: Answer<typeof fleetQuery>
  readonly Liveness: Answer<typeof livenessQuery>
  readonly Profile: Answer<typeof profileQuery>
  readonly Forecast: Answer<typeof forecastQuery>
  readonly Launches: Answer<typeof launchesQuery>
  readonly Launch: Answer<typeof launchQuery>
  readonly Tenant: Answer<typeof tenantQuery>
}

/** A query's body checked as the gateway will check it, before sending; the body to send. */
export const checkQuery = (name: QueryName, body: unknown) =>
  Schema.decodeUnknownEffect(queryBodies[name] as Schema.Codec<unknown, unknown>)(body).pipe(
    Effect.mapError((error) => new QueryRejected("ValidationFailed", error.message, { query: name }, false)),
    Effect.as(body)
  )
