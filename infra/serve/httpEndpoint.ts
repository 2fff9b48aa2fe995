import { Effect } from "effect"
import type { UmbraConfig } from "../config.ts"
import { serveHttp } from "../http/httpServer.ts"
import { metricsRoute } from "../http/metricsRoute.ts"

/**
 * The control plane's HTTP endpoint on UMBRA_HTTP_HOST:UMBRA_HTTP_PORT until the scope closes; returns
 * where it listens. When it cannot listen the control plane serves on and says so: nothing it decides
 * depends on being scraped.
 */
export const serveHttpEndpoint = (config: UmbraConfig) =>
  Effect.gen(function* () {
    const routes = [yield* metricsRoute]
    return yield* serveHttp({ host: config.httpHost, port: config.httpPort }, routes).pipe(
      Effect.tap(({ host, port }) =>
        Effect.logInfo("HTTP endpoint serving", { metrics: `http://${host.includes(":") ? `[${host}]` : host}:${port}/metrics` })
      ),
      Effect.catchTag("HttpServerFailed", (error) =>
        Effect.logError("no HTTP endpoint: the control plane serves without /metrics", { message: error.message }).pipe(Effect.as(undefined))
      )
    )
  })
