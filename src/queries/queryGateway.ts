import { Effect, Schema } from "effect"
import { NotFound, ValidationFailed } from "../../domain/errors.ts"
import { subjects } from "../../domain/subjects.ts"
import { MalformedRequest } from "../commands/commandErrors.ts"
import { errorReply, internalError, requestTarget } from "../commands/commandGateway.ts"
import type { StoreUnavailable } from "../eventStore/errors.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { EventBus } from "../eventBus.ts"
import { ProjectionStore } from "../projections/projectionStore.ts"
import { TelemetryReadModel } from "../telemetry/telemetryReadModel.ts"
import { fleetQuery } from "./fleetQuery.ts"
import { ForecastQuery, forecastQuery } from "./forecastQuery.ts"
import { LaunchesQuery, launchesQuery } from "./launchesQuery.ts"
import { LaunchQuery, launchQuery } from "./launchQuery.ts"
import { livenessQuery } from "./livenessQuery.ts"
import { profileQuery } from "./profileQuery.ts"
import { OfClient, TenantWide } from "./queryBodies.ts"
import { tenantQuery } from "./tenantQuery.ts"

type QueryError = NotFound | ValidationFailed | StoreUnavailable
type QueryServices = EventStore | ProjectionStore | TelemetryReadModel

/** A query by name: how its body decodes and how it is answered. */
interface QueryRoute {
  readonly decode: (body: unknown) => Effect.Effect<unknown, ValidationFailed>
  readonly answer: (tenant: string, query: unknown) => Effect.Effect<unknown, QueryError, QueryServices>
}

const queryRoute = <Q>(schema: Schema.Codec<Q, unknown>, answer: (tenant: string, query: Q) => Effect.Effect<unknown, QueryError, QueryServices>): QueryRoute => {
  const decode = Schema.decodeUnknownEffect(schema)
  return {
    decode: (body) => decode(body).pipe(Effect.mapError((error) => new ValidationFailed({ message: error.message, details: {} }))),
    answer: (tenant, query) => answer(tenant, query as Q)
  }
}

const queries: Readonly<Record<string, QueryRoute>> = {
  Fleet: queryRoute(TenantWide, fleetQuery),
  Liveness: queryRoute(TenantWide, livenessQuery),
  Profile: queryRoute(OfClient, profileQuery),
  Forecast: queryRoute(ForecastQuery, forecastQuery),
  Launches: queryRoute(LaunchesQuery, launchesQuery),
  Launch: queryRoute(LaunchQuery, launchQuery),
  Tenant: queryRoute(TenantWide, tenantQuery)
}

/**
 * Answers the query `name` of `tenant` from the read models, its body decoded by the query's schema: what
 * the gateway replies on NATS and the HTTP API serves, from this one place.
 */
export const answerQuery = (tenant: string, name: string, body: unknown) =>
  Effect.gen(function* () {
    const route = Object.hasOwn(queries, name) ? queries[name] : undefined
    if (route === undefined) {
      return yield* new NotFound({ message: `there is no query ${name}`, details: { query: name, known: Object.keys(queries) } })
    }
    return yield* route.answer(tenant, yield* route.decode(body))
  })

const encoder = new TextEncoder()
const parseJson = Schema.decodeUnknownEffect(Schema.fromJsonString(Schema.Unknown))

/** Serves `umbra.query.<tenant>.<QueryName>` in the queue group `umbra`: the body is the query's JSON, the reply `{ok, result}`. */
export const serveQueries = Effect.fn("QueryGateway.serve")(function* (options: { readonly maxBodyBytes: number }) {
  const bus = yield* EventBus
  const store = yield* EventStore
  const rows = yield* ProjectionStore
  const telemetry = yield* TelemetryReadModel

  const handle = (subject: string, data: Uint8Array) =>
    Effect.gen(function* () {
      const target = yield* requestTarget("query", subject, data, options.maxBodyBytes)
      const body = yield* parseJson(new TextDecoder().decode(data)).pipe(
        Effect.mapError(() => new MalformedRequest({ message: "a query body is a JSON object", details: {} }))
      )
      const result = yield* answerQuery(target.tenant, target.name, body)
      return encoder.encode(JSON.stringify({ ok: true, result }))
    }).pipe(
      Effect.provideService(EventStore, store),
      Effect.provideService(ProjectionStore, rows),
      Effect.provideService(TelemetryReadModel, telemetry),
      Effect.catch((error) => Effect.succeed(errorReply(error))),
      Effect.catchDefect(internalError("query", subject))
    )

  yield* bus.serveRequests(subjects.queriesOf("*"), "umbra", (request) => handle(request.subject, request.data))
})
