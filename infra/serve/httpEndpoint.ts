import { Effect } from "effect"
import type { UmbraConfig } from "../config.ts"
import { apiRoutes } from "../dashboard/apiRoutes.ts"
import { assetRoutes } from "../dashboard/assetRoutes.ts"
import { loadDashboardKey, revocationsIn } from "../dashboard/dashboardTokens.ts"
import { eventStreamRoute } from "../dashboard/eventStreamRoute.ts"
import { holderRevocationsIn } from "../dashboard/tokenHolders.ts"
import { serveHttp } from "../http/httpServer.ts"
import { metricsRoute } from "../http/metricsRoute.ts"

/** The dashboard's page, its JSON API and its events; none without the key its tokens are checked with. */
const dashboardRoutes = (dataDir: string) =>
  Effect.gen(function* () {
    const check = { key: yield* loadDashboardKey(dataDir), revocations: revocationsIn(dataDir), holderRevocations: holderRevocationsIn(dataDir) }
    return [...(yield* assetRoutes), ...(yield* apiRoutes(check)), yield* eventStreamRoute(check)]
  }).pipe(
    Effect.catchTags({
      DashboardKeyFailed: (error) => Effect.logError("no dashboard or /api: the control plane serves /metrics alone", { message: error.message }).pipe(Effect.as([])),
      DashboardAssetsMissing: (error) => Effect.logError("no dashboard or /api: the control plane serves /metrics alone", { message: error.message }).pipe(Effect.as([]))
    })
  )

/**
 * The control plane's HTTP endpoint on UMBRA_HTTP_HOST:UMBRA_HTTP_PORT until the scope closes: /metrics, the
 * dashboard at / and the read-only API under /api; returns where it listens. When it cannot listen the
 * control plane serves on and says so: nothing it decides depends on being scraped or watched.
 */
export const serveHttpEndpoint = (config: UmbraConfig) =>
  Effect.gen(function* () {
    const routes = [yield* metricsRoute, ...(yield* dashboardRoutes(config.dataDir))]
    return yield* serveHttp({ host: config.httpHost, port: config.httpPort }, routes).pipe(
      Effect.tap(({ host, port }) => {
        const base = `http://${host.includes(":") ? `[${host}]` : host}:${port}`
        return Effect.logInfo("HTTP endpoint serving", { metrics: `${base}/metrics`, dashboard: `${base}/` })
      }),
      Effect.catchTag("HttpServerFailed", (error) =>
        Effect.logError("no HTTP endpoint: the control plane serves without /metrics or the dashboard", { message: error.message }).pipe(Effect.as(undefined))
      )
    )
  })
