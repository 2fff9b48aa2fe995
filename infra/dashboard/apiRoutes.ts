import { Effect } from "effect"
import { tenant as tenantModel } from "../../projections/tenant.ts"
import type { EventStore } from "../../src/eventStore/eventStore.ts"
import { ProjectionStore } from "../../src/projections/projectionStore.ts"
import { answerQuery } from "../../src/queries/queryGateway.ts"
import type { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import type { HttpRequest, Route } from "../http/router.ts"
import { accessErrorResponse, admitTenant, authenticate, errorResponse, jsonResponse } from "./apiAccess.ts"
import type { TokenCheck } from "./dashboardTokens.ts"

/** How a query's typed error answers over HTTP. */
const statusOf = (tag: string) => (tag === "NotFound" ? 404 : tag === "StoreUnavailable" ? 503 : 400)

/** A query parameter as the query's schema expects it: digits as a number, anything else as given (and refused there). */
const numberOrText = (value: string) => (/^\d{1,16}$/.test(value) ? Number(value) : value)

/** The query parameters present, of `names`. */
const presentOf = (request: HttpRequest, names: ReadonlyArray<string>) =>
  Object.fromEntries(names.flatMap((name) => {
    const value = request.query.get(name)
    return value === null ? [] : [[name, name === "clientId" ? value : numberOrText(value)]]
  }))

/** The NATS query each route asks, with the body it sends: path and query parameters, as named there. */
const queryRoutes: ReadonlyArray<{ readonly path: string; readonly query: string; readonly body: (request: HttpRequest) => Record<string, unknown> }> = [
  { path: "/api/:tenant/fleet", query: "Fleet", body: () => ({}) },
  { path: "/api/:tenant/liveness", query: "Liveness", body: () => ({}) },
  { path: "/api/:tenant/profiles/:clientId", query: "Profile", body: (r) => ({ clientId: r.params["clientId"] }) },
  { path: "/api/:tenant/forecasts/:clientId", query: "Forecast", body: (r) => ({ clientId: r.params["clientId"], ...presentOf(r, ["from", "to"]) }) },
  { path: "/api/:tenant/launches", query: "Launches", body: (r) => presentOf(r, ["clientId"]) }
]

/**
 * The read-only JSON API: each `/api/<tenant>/…` route answers what `umbra.query.<tenant>.<Query>` answers
 * (the same function, the same `{ok, result}` or `{ok: false, error}`), for a bearer token that may see that
 * tenant; `/api/tenants` lists the tenants the token may see (the operator's: every tenant with events).
 */
export const apiRoutes = (check: TokenCheck) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<EventStore | ProjectionStore | TelemetryReadModel>()
    const answered = queryRoutes.map(({ path, query, body }): Route => ({
      path,
      handle: (request) =>
        admitTenant(check, request).pipe(
          Effect.flatMap((tenant) => answerQuery(tenant, query, body(request))),
          Effect.map((result) => jsonResponse(200, JSON.stringify({ ok: true, result }))),
          Effect.catch((error) =>
            Effect.succeed(
              error._tag === "Unauthorized" || error._tag === "Forbidden" || error._tag === "InvalidTenant"
                ? accessErrorResponse(error)
                : errorResponse(statusOf(error._tag), error)
            )
          ),
          Effect.provideContext(context)
        )
    }))
    const tenants: Route = {
      path: "/api/tenants",
      handle: (request) =>
        authenticate(check, request.headers).pipe(
          Effect.flatMap((viewer) =>
            viewer.kind === "tenant"
              ? Effect.succeed([viewer.tenant])
              : // A tenant's count of events is the row keyed by its name alone.
                ProjectionStore.use((rows) => rows.rows(tenantModel.name, "")).pipe(
                  Effect.map((rows) => rows.map((row) => row.key).filter((key) => !key.includes("/")))
                )
          ),
          Effect.map((tenants) => jsonResponse(200, JSON.stringify({ ok: true, result: { tenants } }))),
          Effect.catchTag("Unauthorized", (error) => Effect.succeed(accessErrorResponse(error))),
          Effect.catch((error) => Effect.succeed(errorResponse(503, error))),
          Effect.provideContext(context)
        )
    }
    return [tenants, ...answered]
  })
