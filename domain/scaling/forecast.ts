import { Effect, Schema } from "effect"
import type { Aggregate, Decider } from "../decider.ts"
import { ClientId } from "../ids.ts"

const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

export const HorizonForecast = Schema.Struct({
  minutes: Schema.Int,
  predicted: NonNegative,
  upper: NonNegative
})

/** How the forecaster has done lately: what an operator reads to decide whether to trust it. */
export const ForecastQuality = Schema.Struct({
  /** Mean absolute error of the model's 60-minute forecasts, and of the last-value forecast, over the same steps. */
  modelError: NonNegative,
  lastValueError: NonNegative,
  meanDemand: NonNegative,
  /** Share of recent steps whose demand exceeded the provisioning bound, and the provision left unused. */
  shortfall: NonNegative,
  slack: NonNegative,
  scoredSteps: Schema.Int
})

const forecastFields = {
  clientId: ClientId,
  metric: Schema.String,
  model: Schema.String,
  horizons: Schema.Array(HorizonForecast),
  quality: ForecastQuality,
  /** True when the model did worse than the last value lately and a conservative policy sized the client. */
  fallback: Schema.Boolean,
  reason: Schema.String
}

export const RecordForecast = Schema.TaggedStruct("RecordForecast", forecastFields)
export const ForecastCommand = Schema.Union([RecordForecast])
export type ForecastCommand = typeof ForecastCommand.Type

export const ForecastUpdated = Schema.TaggedStruct("ForecastUpdated", forecastFields)
export const ForecastEvent = Schema.Union([ForecastUpdated])
export type ForecastEvent = typeof ForecastEvent.Type

/** A client's forecasts: a log of what was predicted and how well, with nothing to refuse. */
export const forecastDecider: Decider<ForecastCommand, ForecastEvent, null> = {
  initialState: null,
  evolve: (state) => state,
  decide: (command) => {
    const { _tag, ...fields } = command
    return Effect.succeed([{ _tag: "ForecastUpdated", ...fields }])
  }
}

export const forecastAggregate: Aggregate<ForecastCommand, ForecastEvent, null> = {
  category: "forecast",
  commands: ForecastCommand,
  events: ForecastEvent,
  decider: forecastDecider,
  idOf: (command) => command.clientId,
  access: { RecordForecast: "internal" },
  snapshot: { version: 1, schema: Schema.Null },
  // Deciding needs none of a client's past forecasts: they are history for the read side, which has them from
  // UMBRA_EVENTS. The store keeps the last day or so of them (two metrics every 5 minutes).
  retention: { maxCount: 1_000 }
}
