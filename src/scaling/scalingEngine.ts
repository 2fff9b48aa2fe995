import { type Duration, Effect, Schedule, Schema } from "effect"
import type { DomainCommand } from "../../domain/commands.ts"
import { nameBasedId } from "../../domain/eventId.ts"
import { Forecaster, ForecasterState, forecasterModel, type HorizonForecast } from "../../domain/forecast/forecaster.ts"
import type { ClientId, CommandId } from "../../domain/ids.ts"
import { profileAggregate } from "../../domain/profile/profile.ts"
import { emptyQuality, observeDemand, QualityState, qualityOf, recordForecast } from "../../domain/scaling/forecastQuality.ts"
import {
  conservativeRequirement,
  defaultScalingPolicy,
  refinement,
  requirementFrom,
  type ScalingPolicy,
  shouldFallBack
} from "../../domain/scaling/scalingPolicy.ts"
import { parseTenantKey, type TenantKey } from "../../domain/tenantKey.ts"
import type { BucketSummary } from "../../projections/telemetryBuckets.ts"
import type { CommandHandler } from "../commands/commandHandler.ts"
import { issueCommand } from "../commands/issueCommand.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import { Metrics } from "../metrics.ts"
import type { EventStore } from "../eventStore/eventStore.ts"
import { TelemetryReadModel } from "../telemetry/telemetryReadModel.ts"
import { ScalingStates } from "./scalingStates.ts"

const metrics = ["cpu", "memBytes"] as const
type Metric = (typeof metrics)[number]

const horizonMs = 60 * 60_000

const ClientScaling = Schema.Struct({
  lastStart: Schema.Finite,
  forecasters: Schema.Struct({ cpu: ForecasterState, memBytes: ForecasterState }),
  quality: Schema.Struct({ cpu: QualityState, memBytes: QualityState })
})
type ClientScaling = typeof ClientScaling.Type
const decodeScaling = Schema.decodeUnknownResult(ClientScaling)

export interface ScalingEngineOptions {
  readonly policy?: ScalingPolicy
  /** How often the engine looks for new 5-minute buckets. */
  readonly interval?: Duration.Input
}

/**
 * The predictive scaling engine: for every client with telemetry, feeds each new complete 5-minute bucket
 * (its max: a shadow must cover peaks) to a forecaster per metric, records ForecastUpdated with the
 * forecaster's recent quality, and refines the profile when the provisioning requirement leaves the
 * hysteresis band. When the model has lately done worse than the last value, a conservative policy sizes
 * the client instead, and the event says so. Command ids derive from the bucket, so a tick repeated after
 * a crash appends nothing twice.
 */
export const makeScalingEngine = (options: ScalingEngineOptions = {}) =>
  Effect.gen(function* () {
    const telemetry = yield* TelemetryReadModel
    const states = yield* ScalingStates
    const services = yield* Effect.context<EventStore | CommandHandler>()
    const recorder = yield* Metrics
    const policy = options.policy ?? defaultScalingPolicy

    /** `name` makes the command id: the same bucket and purpose always give the same one. */
    const send = (tenant: string, name: string, command: DomainCommand) => {
      const commandId = nameBasedId(`scaling/${name}`)
      return issueCommand(tenant, { commandId: commandId as CommandId, correlationId: commandId }, command)
    }

    const freshState = (expected: { readonly cpuMillis: number; readonly memoryMiB: number }): ClientScaling => ({
      lastStart: 0,
      forecasters: {
        cpu: Forecaster.make({ priorLevel: expected.cpuMillis / 1000 }).toState(),
        memBytes: Forecaster.make({ priorLevel: expected.memoryMiB * 1024 * 1024 }).toState()
      },
      quality: { cpu: emptyQuality, memBytes: emptyQuality }
    })

    const stepClient = Effect.fn("ScalingEngine.stepClient")(function* (clientKey: TenantKey) {
      const parsed = parseTenantKey(clientKey)
      if (parsed === undefined) return yield* Effect.logWarning("telemetry names a client key that is no tenant key", { clientKey })
      const { tenant } = parsed
      const clientId = parsed.id as ClientId
      const profile = (yield* loadAggregate(profileAggregate, tenant, clientId)).state
      if (profile._tag !== "Active") return
      const loaded = decodeScaling(yield* states.load(clientKey))
      const state = loaded._tag === "Success" ? loaded.success : freshState(profile.expected)
      const series = {} as Record<Metric, ReadonlyArray<BucketSummary>>
      for (const metric of metrics) {
        series[metric] = yield* telemetry.series({ scope: "client", key: clientKey, metric, size: "5m", sinceMs: state.lastStart + 1 })
      }
      // The newest bucket may still be filling: only those before it are complete.
      const newest = Math.max(...metrics.flatMap((metric) => series[metric].map((b) => b.start)))
      const outcome = {} as Record<Metric, { forecasts: ReadonlyArray<HorizonForecast>; quality: ReturnType<typeof qualityOf>; judged: ReturnType<typeof qualityOf>; peak: number; state: unknown; scores: QualityState }>
      let lastStart = state.lastStart
      for (const metric of metrics) {
        const forecaster = Forecaster.fromState(state.forecasters[metric])
        let scores = state.quality[metric]
        let forecasts: ReadonlyArray<HorizonForecast> = forecaster.forecast()
        const complete = series[metric].filter((bucket) => bucket.start < newest)
        for (const bucket of complete) {
          forecaster.observe({ value: bucket.max, at: bucket.start })
          scores = observeDemand(scores, bucket.start, bucket.max)
          forecaster.refitIfDue()
          forecasts = forecaster.forecast()
          const hour = forecasts.find((f) => f.minutes === 60) ?? forecasts[forecasts.length - 1]!
          scores = recordForecast(scores, { origin: bucket.start, horizonMs, predicted: hour.predicted, upper: hour.upper, lastValue: bucket.max })
          lastStart = Math.max(lastStart, bucket.start)
        }
        const peak = Math.max(0, ...complete.slice(-12).map((b) => b.max))
        outcome[metric] = {
          forecasts,
          quality: qualityOf(scores),
          judged: qualityOf(scores, policy.judgeSteps),
          peak,
          state: forecaster.toState(),
          scores
        }
      }
      if (lastStart === state.lastStart) return
      const key = `${clientKey}/${lastStart}`
      const current = { cpuMillis: profile.expected.cpuMillis, memoryMiB: profile.expected.memoryMiB }
      const fallback = metrics.some((metric) => shouldFallBack(outcome[metric].judged, policy))
      const upper = (metric: Metric) => outcome[metric].forecasts.find((f) => f.minutes === 60)?.upper ?? 0
      const required = fallback
        ? conservativeRequirement(current, requirementFrom(outcome.cpu.peak, outcome.memBytes.peak), policy)
        : requirementFrom(upper("cpu"), upper("memBytes"))
      const reason = fallback
        ? `fallback: the model did worse than the last value lately; recent peak plus ${policy.conservativeMargin * 100} %`
        : `forecast: 60-minute provisioning bound ${upper("cpu").toFixed(3)} cores, ${Math.round(upper("memBytes") / 1048576)} MiB`
      for (const metric of metrics) {
        yield* send(tenant, `${key}/forecast/${metric}`, {
          _tag: "RecordForecast",
          clientId,
          metric,
          model: forecasterModel,
          horizons: outcome[metric].forecasts,
          quality: outcome[metric].quality,
          fallback,
          reason
        })
        const { shortfall, slack, scoredSteps } = outcome[metric].quality
        yield* recorder.forecastRecorded({ tenant, clientId, metric, shortfall, slack, scoredSteps, fallback })
      }
      const change = refinement(current, required, policy)
      if (change !== undefined) yield* send(tenant, `${key}/refine`, { _tag: "ScaleProfile", clientId, expected: change, reason })
      yield* states.save(clientKey, {
        lastStart,
        forecasters: { cpu: outcome.cpu.state, memBytes: outcome.memBytes.state },
        quality: { cpu: outcome.cpu.scores, memBytes: outcome.memBytes.scores }
      })
    }, (effect) => Effect.provideContext(effect, services))

    const tick = Effect.gen(function* () {
      const clients = yield* telemetry.keys("client", "5m")
      for (const client of clients) {
        yield* stepClient(client).pipe(
          Effect.catch((error) => Effect.logWarning("scaling step failed", { client, error: error.message }))
        )
      }
    })

    return {
      tick,
      run: tick.pipe(Effect.repeat(Schedule.spaced(options.interval ?? "1 minute")), Effect.annotateLogs({ component: "scaling" }))
    }
  })

