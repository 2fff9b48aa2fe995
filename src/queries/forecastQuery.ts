import { Effect, Schema } from "effect"
import { ClientId } from "../../domain/ids.ts"
import { tenantKey } from "../../domain/tenantKey.ts"
import { forecastKeys, type ForecastRow, forecasts } from "../../projections/forecasts.ts"
import { bucketSizes } from "../../projections/telemetryBuckets.ts"
import { TelemetryReadModel } from "../telemetry/telemetryReadModel.ts"
import { afterCatchingUp } from "./caughtUp.ts"
import { notFoundIn } from "./notFoundIn.ts"
import { fromReadModel } from "./readModelAnswer.ts"
import { readRow, readRows } from "./readModelRows.ts"

const EpochMs = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 8_640_000_000_000_000 }))
/** The 5-minute demand buckets are kept this long: a longer window would chart nothing more. */
const longestWindowMs = bucketSizes["5m"].ms * bucketSizes["5m"].keep

/** `{clientId}`, or `{clientId, from, to}` (epoch milliseconds, `from` ≤ `to`, at most 35 days apart) for a chart. */
export const ForecastQuery = Schema.Struct({
  clientId: ClientId,
  from: Schema.optionalKey(EpochMs),
  to: Schema.optionalKey(EpochMs)
}).check(
  Schema.makeFilter((query: { readonly from?: number; readonly to?: number }) => {
    if (query.from === undefined && query.to === undefined) return true
    if (query.from === undefined || query.to === undefined) return "from and to come together"
    if (query.from > query.to) return "from is after to"
    return query.to - query.from <= longestWindowMs || `a window is at most ${longestWindowMs} ms`
  })
)

/**
 * Demand against forecast for one metric over a window: demand is each 5-minute bucket's peak (what the
 * forecaster is fed), a forecast point is a kept forecast at the time it was made for (made + horizon).
 */
const windowOf = (tenant: string, clientId: string, row: ForecastRow, from: number, to: number) =>
  Effect.gen(function* () {
    const buckets = yield* TelemetryReadModel.use((telemetry) =>
      telemetry.series({ scope: "client", key: tenantKey(tenant, clientId), metric: row.metric, size: "5m", sinceMs: from })
    )
    const demand = buckets.filter((bucket) => bucket.start <= to).map(({ start, max, mean, p95 }) => ({ at: start, max, mean, p95 }))
    const forecast = row.history
      .flatMap((issue) => {
        const madeAt = Date.parse(issue.at)
        return issue.horizons.map(({ minutes, predicted, upper }) => ({ at: madeAt + minutes * 60_000, madeAt, minutes, predicted, upper }))
      })
      .filter((point) => point.at >= from && point.at <= to)
      .sort((a, b) => a.at - b.at || a.minutes - b.minutes)
    return { metric: row.metric, demand, forecast }
  })

/**
 * `umbra.query.<tenant>.Forecast`: per metric, the latest forecast of each horizon with its bound, the
 * model (or the fallback and why) and its recent quality; with a window, demand against forecast in it.
 */
export const forecastQuery = (tenant: string, query: typeof ForecastQuery.Type) =>
  Effect.gen(function* () {
    const client = yield* readRow<unknown>(forecasts.name, forecastKeys.client(tenant, query.clientId))
    if (client === undefined) return yield* notFoundIn(forecasts.name, `there is no client ${query.clientId}`, { clientId: query.clientId })
    const rows = yield* readRows<ForecastRow>(forecasts.name, forecastKeys.metrics(tenant, query.clientId))
    const metrics = rows.map(({ history, ...latest }) => latest)
    if (query.from === undefined || query.to === undefined) return { clientId: query.clientId, metrics }
    const { from, to } = query
    const window = yield* Effect.forEach(rows, (row) => windowOf(tenant, query.clientId, row, from, to))
    return { clientId: query.clientId, metrics, window: { from, to, metrics: window } }
  }).pipe(fromReadModel(forecasts.name), afterCatchingUp(forecasts), Effect.withSpan("Query.Forecast"))
