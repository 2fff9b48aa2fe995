import type { ForecastQuality, HorizonForecast } from "../domain/scaling/forecast.ts"
import { type Projection, put, upsert } from "./projection.ts"

type Horizon = typeof HorizonForecast.Type

/** A forecast as it was made: when, and what it said for each horizon. */
export interface ForecastIssue {
  readonly at: string
  readonly horizons: ReadonlyArray<Horizon>
}

export interface ForecastRow {
  readonly metric: string
  /** When the latest forecast was made, and what made it. */
  readonly at: string
  readonly model: string
  readonly fallback: boolean
  readonly reason: string
  readonly quality: typeof ForecastQuality.Type
  /** The latest forecast of every horizon ever forecast, each with when it was made. */
  readonly horizons: ReadonlyArray<Horizon & { readonly at: string }>
  /** Oldest first, the newest `forecastsKept`: what the charts of demand against forecast draw. */
  readonly history: ReadonlyArray<ForecastIssue>
}

/** The scaling engine forecasts each metric every 5 minutes: 288 forecasts are a day of them. */
export const forecastsKept = 288

export const forecastKeys = {
  /** Present once the client has connected: a query tells an unknown client from one with no forecast yet. */
  client: (tenant: string, clientId: string) => `${tenant}/${clientId}`,
  metrics: (tenant: string, clientId: string) => `${tenant}/${clientId}/`,
  metric: (tenant: string, clientId: string, metric: string) => `${tenant}/${clientId}/${metric}`
}

const latestByHorizon = (previous: ForecastRow["horizons"], horizons: ReadonlyArray<Horizon>, at: string) => {
  const byMinutes = new Map(previous.map((horizon) => [horizon.minutes, horizon]))
  for (const horizon of horizons) byMinutes.set(horizon.minutes, { ...horizon, at })
  return [...byMinutes.values()].sort((a, b) => a.minutes - b.minutes)
}

/** Each client's forecasts per metric: the latest of each horizon with the forecaster's quality, and a day of history. */
export const forecasts: Projection = {
  name: "forecasts",
  version: 1,
  handles: new Set(["ClientConnected", "ForecastUpdated"]),
  apply: (event, envelope) => {
    switch (event._tag) {
      case "ClientConnected":
        return [put(forecastKeys.client(envelope.tenant, event.clientId), { clientId: event.clientId })]
      case "ForecastUpdated":
        return [
          upsert<ForecastRow>(forecastKeys.metric(envelope.tenant, event.clientId, event.metric), (row) => ({
            metric: event.metric,
            at: envelope.at,
            model: event.model,
            fallback: event.fallback,
            reason: event.reason,
            quality: event.quality,
            horizons: latestByHorizon(row?.horizons ?? [], event.horizons, envelope.at),
            history: [...(row?.history ?? []), { at: envelope.at, horizons: event.horizons }].slice(-forecastsKept)
          }))
        ]
      default:
        return []
    }
  }
}
