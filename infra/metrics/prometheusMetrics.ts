import { Context, Effect, Layer } from "effect"
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client"
import { Metrics, type MetricsShape } from "../../src/metrics.ts"
import { makeForecastScores } from "./forecastScores.ts"
import { type Sample, type SeriesShape, seriesOf, type SourceSeries } from "./scrapedSeries.ts"

/** What the endpoint answers a scrape with: the registry in Prometheus' text format. */
export class MetricsExposition extends Context.Service<MetricsExposition, {
  readonly contentType: string
  readonly render: Effect.Effect<string>
}>()("umbra/MetricsExposition") {}

/** Seconds: an append and a reply take milliseconds when the store is well, seconds when it struggles. */
const commandBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * The Metrics port on prom-client, with a registry of its own (so that two control planes in one process,
 * as in tests, never share series), and the exposition the HTTP endpoint serves.
 */
export const layer = Layer.effectContext(
  Effect.gen(function* () {
    const registry = new Registry()
    // The process's own series (CPU, memory, event-loop lag) under their usual names, for the usual dashboards.
    collectDefaultMetrics({ register: registry })
    const run = Effect.runPromiseWith(yield* Effect.context<never>())

    const commands = new Counter({
      name: "umbra_commands_total",
      help: "Command requests answered, by tenant, command type and outcome (ok, duplicate, or the error tag)",
      labelNames: ["tenant", "type", "outcome"],
      registers: [registry]
    })
    const commandSeconds = new Histogram({
      name: "umbra_command_duration_seconds",
      help: "Seconds from a command request's arrival to its reply, by command type and outcome",
      labelNames: ["type", "outcome"],
      buckets: commandBuckets,
      registers: [registry]
    })

    /**
     * Creates series collected at scrape time from one shared reading: prom-client starts every collect of
     * a scrape at once, so they all find the reading the first one started. A reading that fails leaves
     * its series without samples (and is logged), rather than stale. Returns their names.
     */
    const register = (what: string, { series, samples }: SourceSeries) => {
      let reading: Promise<ReadonlyArray<ReadonlyArray<Sample>>> | undefined
      const read = () =>
        reading ??= run(
          samples.pipe(
            Effect.catch((error) =>
              Effect.logWarning("a metrics source could not be read", { source: what, message: error.message }).pipe(Effect.as(series.map(() => [])))
            )
          )
        ).finally(() => (reading = undefined))
      series.forEach((shape, index) => exposeSeries(registry, shape, async () => (await read())[index]!))
      return series.map((shape) => shape.name)
    }

    const forecasts = makeForecastScores()
    register("forecasts", forecasts.series)

    const metrics: MetricsShape = {
      commandHandled: ({ tenant, type, outcome, seconds }) =>
        Effect.sync(() => {
          commands.inc({ tenant, type, outcome })
          commandSeconds.observe({ type, outcome }, seconds)
        }),
      forecastRecorded: forecasts.record,
      readAtScrape: (source) =>
        Effect.acquireRelease(Effect.sync(() => register(source._tag, seriesOf(source))), (names) =>
          Effect.sync(() => names.forEach((name) => registry.removeSingleMetric(name)))).pipe(Effect.asVoid)
    }

    return Context.make(Metrics, metrics).pipe(
      Context.add(MetricsExposition, { contentType: registry.contentType, render: Effect.promise(() => registry.metrics()) })
    )
  })
)

/** A series whose samples are read when it is collected; one without labels and without a sample is left out. */
const exposeSeries = (registry: Registry, shape: SeriesShape, samplesNow: () => Promise<ReadonlyArray<Sample>>) => {
  const config = { name: shape.name, help: shape.help, labelNames: [...shape.labelNames], registers: [registry] }
  const refill = async (metric: Counter | Gauge, put: (sample: Sample) => void) => {
    const samples = await samplesNow()
    metric.reset()
    samples.forEach(put)
    if (samples.length === 0 && shape.labelNames.length === 0) metric.remove({})
  }
  return shape.kind === "counter"
    ? new Counter({ ...config, collect() { return refill(this, ([labels, value]) => this.inc(labels, value)) } })
    : new Gauge({ ...config, collect() { return refill(this, ([labels, value]) => this.set(labels, value)) } })
}
