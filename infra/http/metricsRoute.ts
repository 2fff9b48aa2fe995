import { Effect } from "effect"
import { MetricsExposition } from "../metrics/prometheusMetrics.ts"
import { type Route, textResponse } from "./router.ts"

/** `/metrics`: every series, read now, in Prometheus' text format. */
export const metricsRoute = Effect.gen(function* () {
  const exposition = yield* MetricsExposition
  return {
    path: "/metrics",
    handle: () => exposition.render.pipe(Effect.map((text) => textResponse(200, text, exposition.contentType)))
  } satisfies Route
})
