/**
 * Telemetry and forecasting:
 * - `telemetry.ingest`: samples already in UMBRA_SIGNALS folded by the telemetry ingest into the `telemetry`
 *   projection's rows in SQLite (on its applier thread, as `umbra serve` runs it), next to a bare
 *   ordered-consumer loop that reads and JSON-parses the same messages (no Umbra code), in the same run.
 * - `forecast.latency`: one refit and one forecast of a client's forecaster at 30 days of 5-minute
 *   history, next to a raw `ml-regression-multivariate-linear` fit of the same design size.
 */
import { DeliverPolicy, jetstream } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Effect, Layer, References, Schedule } from "effect"
import MultivariateLinearRegression from "ml-regression-multivariate-linear"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { FEATURE_COUNT } from "../domain/forecast/features.ts"
import { Forecaster } from "../domain/forecast/forecaster.ts"
import { STEP_MS, STEPS_PER_DAY } from "../domain/forecast/series.ts"
import type { TelemetrySample } from "../domain/signals.ts"
import { subjects } from "../domain/subjects.ts"
import { layer as memoryEventStore } from "../infra/eventStore/memoryEventStore.ts"
import * as natsConnection from "../infra/nats/connection.ts"
import * as jetstreamSetup from "../infra/nats/jetstreamSetup.ts"
import * as natsEventBus from "../infra/nats/natsEventBus.ts"
import { ReadModelDatabase } from "../infra/readModels/readModelDatabase.ts"
import * as sqliteProjections from "../infra/readModels/sqliteProjections.ts"
import * as telemetryThread from "../infra/readModels/telemetryThread.ts"
import { CommandHandler } from "../src/commands/commandHandler.ts"
import { SignalClockSkew } from "../src/telemetry/signalDecoding.ts"
import { makeTelemetryIngest } from "../src/telemetry/telemetryIngest.ts"
import { TelemetryReadModel } from "../src/telemetry/telemetryReadModel.ts"
import { startTestNatsServer } from "../test/harness/natsServer.ts"
import { recordInstance } from "../test/support/recordedInstances.ts"
import { runQuiet } from "./runQuiet.ts"
import { type Benchmark, mean, result } from "./benchmark.ts"
import { publishSignals } from "../test/support/publishStored.ts"
import { type CpuTimes, cpuPerUnit, startCpu, totalCpu } from "./cpuTime.ts"

// ---------------------------------------------------------------------------------------------------
// telemetry.ingest

const sampleCount = 200_000
/**
 * Both sides are timed over the samples after these: an ingest runs for months, so it is measured with its
 * code compiled (on each side's own threads) and its read model past its first blocks.
 */
const warmSamples = 100_000
const countedSamples = sampleCount - warmSamples
const instances = 200
const clients = 40
const tenant = "acme"
/** The pull window of Umbra's signal follower (pullBatch 64 × 4); the raw loop uses the same. */
const pullWindow = 256
const publishWindow = 1_000
const ingestTimeoutMs = 120_000
const rounds = 3
/** One sample per instance every 15 s, the newest near now. */
const sampleSpacingMs = 15_000
/** The oldest sample is this long before it was published: within it, none is dropped as out of time. */
const spanMs = Math.ceil(sampleCount / instances) * sampleSpacingMs

const sampleAt = (n: number, startMs: number): { subject: string; body: Uint8Array } => {
  const instance = n % instances
  const instanceId = `i${instance}`
  const round = Math.floor(n / instances)
  const sample: TelemetrySample = {
    instanceId: instanceId as TelemetrySample["instanceId"],
    clientId: `c${instance % clients}` as NonNullable<TelemetrySample["clientId"]>,
    at: new Date(startMs + round * sampleSpacingMs + (instance % 15) * 1_000).toISOString(),
    cpu: Math.round((0.5 + 0.4 * Math.sin(round / 40 + instance) + (n % 7) * 0.01) * 1000) / 1000,
    memBytes: 512 * 1024 * 1024 + ((n * 7919) % 100_000_000)
  }
  return { subject: subjects.signal(tenant, instanceId, "tm"), body: new TextEncoder().encode(JSON.stringify(sample)) }
}

/** Info logs go to stdout, where `--json` prints its document: keep only warnings and errors. */

const withSetupConnection = (url: string) =>
  runQuiet(
    Effect.void.pipe(
      Effect.provide(jetstreamSetup.layer().pipe(Layer.provide(natsConnection.layer({ url, name: "umbra-bench-setup" }))))
    )
  )

/**
 * Publishes the samples to UMBRA_SIGNALS (core NATS, as agents do: the stream sends no acknowledgements),
 * `publishWindow` at a time, each window stored before the next; returns their mean size.
 */
const publishSamples = async (url: string): Promise<number> => {
  const nc = await connect({ servers: url, noAsyncTraces: true })
  try {
    const startMs = Date.now() - spanMs
    const deadline = performance.now() + 120_000
    let bytes = 0
    for (let from = 0; from < sampleCount; from += publishWindow) {
      if (performance.now() > deadline) throw new Error("publishing the samples took over 120 s")
      const window: Array<{ subject: string; body: Uint8Array }> = []
      for (let n = from; n < Math.min(sampleCount, from + publishWindow); n++) {
        const sample = sampleAt(n, startMs)
        bytes += sample.body.length
        window.push(sample)
      }
      await publishSignals(nc, window)
    }
    return bytes / sampleCount
  } finally {
    await nc.drain()
  }
}

/** A rate and the CPU spent over the counted samples. */
interface Counted {
  readonly perSecond: number
  readonly cpu: CpuTimes
}

/**
 * The raw reference: an ordered consumer over the same filter, reading every message and JSON-parsing it,
 * timed from the first counted message.
 */
const rawConsume = async (url: string, serverPid: number): Promise<Counted> => {
  const nc = await connect({ servers: url, noAsyncTraces: true })
  try {
    const js = jetstream(nc)
    const consumer = await js.consumers.get(jetstreamSetup.streamNames.signals, {
      filter_subjects: "umbra.sig.*.*.tm",
      deliver_policy: DeliverPolicy.All
    })
    const messages = await consumer.consume({ max_messages: pullWindow })
    const timer = setTimeout(() => void messages.close(), ingestTimeoutMs)
    let read = 0
    let cpu = 0
    let counting = { started: 0, cpuSince: (): CpuTimes => ({ selfMicros: 0, otherMicros: undefined }) }
    try {
      for await (const msg of messages) {
        const sample = msg.json<{ cpu: number }>()
        cpu += sample.cpu
        if (++read === warmSamples) counting = { started: performance.now(), cpuSince: startCpu(serverPid) }
        if (read >= sampleCount) break
      }
    } finally {
      clearTimeout(timer)
      await messages.close()
    }
    if (read < sampleCount || !Number.isFinite(cpu)) throw new Error(`raw consume read ${read} of ${sampleCount} in time`)
    return { perSecond: (countedSamples * 1000) / (performance.now() - counting.started), cpu: counting.cpuSince() }
  } finally {
    await nc.drain()
  }
}

/** Umbra's ingest on a fresh read-model file, timed from its status counting the warm-up samples until it counts all. */
const umbraIngest = (url: string, serverPid: number, file: string) =>
  runQuiet(
    Effect.gen(function* () {
      yield* Effect.forEach(Array.from({ length: instances }, (_, i) => i), (i) => recordInstance(tenant, `i${i}`, `c${i % clients}`), { discard: true })
      const ingest = yield* makeTelemetryIngest
      yield* Effect.forkScoped(ingest.run)
      const processed = (atLeast: number) =>
        ingest.status.pipe(
          Effect.repeat({ until: (status) => status.applied + status.dropped >= atLeast, schedule: Schedule.spaced("2 millis") }),
          Effect.timeout(`${ingestTimeoutMs} millis`)
        )
      yield* processed(warmSamples)
      const started = performance.now()
      const cpuSince = startCpu(serverPid)
      const status = yield* processed(sampleCount)
      const elapsed = performance.now() - started
      if (status.dropped > 0) throw new Error(`the ingest dropped ${status.dropped} samples`)
      return { perSecond: (countedSamples * 1000) / elapsed, cpu: cpuSince() } satisfies Counted
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Layer.mergeAll(
          telemetryThread.layer.pipe(
            Layer.provideMerge(TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer))),
            Layer.provide(ReadModelDatabase.layer(file))
          ),
          natsEventBus.layer().pipe(Layer.provide(natsConnection.layer({ url, name: "umbra-bench" }))),
          CommandHandler.layer.pipe(Layer.provideMerge(memoryEventStore)),
          Layer.succeed(SignalClockSkew, spanMs + 60 * 60_000),
          // As `umbra serve` runs it: no tracer exports spans, so none are made.
          Layer.succeed(References.TracerEnabled, false)
        )
      )
    )
  )


// ---------------------------------------------------------------------------------------------------
// forecast.latency

const historyDays = 30
const historySteps = historyDays * STEPS_PER_DAY
const maxClients = 24
const forecastMaxMillis = 90_000
const horizonsMinutes = [15, 30, 60]
/** Outputs of the model: a point and a maximum per horizon. */
const outputs = 2 * horizonsMinutes.length

const tracePath = fileURLToPath(new URL("../../shared/traces/azure-v1/vm_cpu_avg_30.csv", import.meta.url))

/** Per client, `historySteps` values: the trace's columns (cycled to length when shorter), or a synthetic daily cycle. */
const loadSeries = (): { readonly source: string; readonly series: ReadonlyArray<Float64Array> } => {
  if (existsSync(tracePath)) {
    const lines = readFileSync(tracePath, "utf8").trim().split("\n").slice(1)
    const rows = lines.map((line) => line.split(",").slice(1).map(Number))
    const columns = Math.min(maxClients, rows[0]?.length ?? 0)
    if (rows.length > STEPS_PER_DAY && columns > 0) {
      const series = Array.from({ length: columns }, (_, c) => {
        const values = new Float64Array(historySteps)
        let last = 0
        for (let t = 0; t < historySteps; t++) {
          const v = rows[t % rows.length]?.[c]
          last = v !== undefined && Number.isFinite(v) ? v : last
          values[t] = last
        }
        return values
      })
      const cycled = rows.length < historySteps ? `, ${rows.length} steps cycled to ${historySteps}` : ""
      return { source: `azure-v1 vm_cpu_avg_30.csv (${columns} VM columns${cycled})`, series }
    }
  }
  let seed = 42
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed / 2_147_483_648
  }
  const series = Array.from({ length: maxClients }, (_, c) => {
    const values = new Float64Array(historySteps)
    for (let t = 0; t < historySteps; t++) {
      const day = Math.sin((2 * Math.PI * (t + c * 13)) / STEPS_PER_DAY)
      values[t] = Math.max(0, 20 + 5 * c + 10 * day + 4 * (random() - 0.5))
    }
    return values
  })
  return { source: `synthetic daily cycle with noise (${tracePath} absent)`, series }
}

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

const fed = (values: Float64Array, startMs: number): Forecaster => {
  const forecaster = Forecaster.make({ historySteps, horizonsMinutes })
  for (let t = 0; t < values.length; t++) forecaster.observe({ value: values[t]!, at: startMs + t * STEP_MS })
  return forecaster
}

/** One raw fit of the same design: one row per origin the model fits on, FEATURE_COUNT columns, one column per output. */
const rawDesign = (values: Float64Array) => {
  const rows = values.length - Math.max(...horizonsMinutes) / 5
  const x: Array<Array<number>> = []
  const y: Array<Array<number>> = []
  for (let t = 0; t < rows; t++) {
    const v = Math.log1p(values[t]!)
    const row = [1]
    for (let j = 1; j < FEATURE_COUNT; j++) row.push(Math.log1p(values[Math.max(0, t - j)]!) - v + 1e-3 * Math.sin(t * j))
    x.push(row)
    const target: Array<number> = []
    for (let o = 0; o < outputs; o++) target.push(Math.log1p(values[t + 1 + Math.floor(o / 2)]!) - v)
    y.push(target)
  }
  return { x, y }
}

// ---------------------------------------------------------------------------------------------------

export const benchmarks: ReadonlyArray<Benchmark> = [
  {
    name: "telemetry.ingest",
    run: async () => {
      const nats = await startTestNatsServer()
      const dir = mkdtempSync(join(tmpdir(), "umbra-bench-"))
      try {
        await withSetupConnection(nats.url)
        const bytes = await publishSamples(nats.url)
        // A round of each first, not counted: the first ingest of a process ran slower by a quarter or more
        // even past its warm-up samples (code that runs once a batch is compiled late), the raw loop less so.
        await rawConsume(nats.url, nats.pid())
        await umbraIngest(nats.url, nats.pid(), join(dir, "readmodels-uncounted.db"))
        const raws: Array<Counted> = []
        const umbras: Array<Counted> = []
        // Alternating rounds so that load from other processes falls on both alike; each Umbra round on a fresh file.
        for (let round = 0; round < rounds; round++) {
          raws.push(await rawConsume(nats.url, nats.pid()))
          umbras.push(await umbraIngest(nats.url, nats.pid(), join(dir, `readmodels-${round}.db`)))
        }
        const umbra = umbras.map((run) => run.perSecond)
        const rawRates = raws.map((run) => run.perSecond)
        return [
          result(
            "telemetry.ingest",
            "samples/s",
            mean(umbra),
            mean(rawRates),
            `${sampleCount} samples of ~${Math.round(bytes)} B (cpu + memBytes, clientId, no workload metrics) from ${instances} instances (${clients} clients) in UMBRA_SIGNALS, ` +
              `each side timed over the last ${countedSamples} after ${warmSamples} uncounted; ` +
              `Umbra: telemetry ingest (attribute; decode and fold into the telemetry projection's rows in SQLite on its applier thread, file, WAL), timed by its status; ` +
              `raw: ordered consumer, JSON.parse each, same pull window ${pullWindow}; ${rounds} alternating rounds after an uncounted one of each, means ` +
              `(umbra ${umbra.map(Math.round).join("/")}, raw ${rawRates.map(Math.round).join("/")}); ` +
              `CPU per counted sample (all threads): Umbra ${cpuPerUnit(totalCpu(umbras.map((run) => run.cpu)), countedSamples * rounds)}; ` +
              `raw ${cpuPerUnit(totalCpu(raws.map((run) => run.cpu)), countedSamples * rounds)}`
          )
        ]
      } finally {
        await nats.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  },
  {
    name: "forecast.latency",
    run: async () => {
      const { source, series } = loadSeries()
      const startMs = Date.UTC(2024, 0, 1)
      const fitMs: Array<number> = []
      const predictMs: Array<number> = []
      const rawMs: Array<number> = []
      let rawRows = 0
      // Warm-up (JIT) on the first client, not counted.
      {
        const first = series[0]!
        fed(first, startMs).refitIfDue()
        const { x, y } = rawDesign(first)
        new MultivariateLinearRegression(x, y, { intercept: false, statistics: false })
      }
      const deadline = performance.now() + forecastMaxMillis
      for (const values of series) {
        if (performance.now() > deadline) break
        const forecaster = fed(values, startMs)
        let started = performance.now()
        const refitted = forecaster.refitIfDue()
        fitMs.push(performance.now() - started)
        if (!refitted) throw new Error("the forecaster was not due a refit after 30 days of history")
        started = performance.now()
        const forecast = forecaster.forecast()
        predictMs.push(performance.now() - started)
        if (forecast.some((h) => !Number.isFinite(h.upper))) throw new Error("a forecast was not finite")

        const { x, y } = rawDesign(values)
        rawRows = x.length
        started = performance.now()
        new MultivariateLinearRegression(x, y, { intercept: false, statistics: false })
        rawMs.push(performance.now() - started)
      }
      const total = (values: ReadonlyArray<number>) => values.reduce((s, v) => s + v, 0)
      const umbraPerSecond = (fitMs.length * 1000) / (total(fitMs) + total(predictMs))
      const rawPerSecond = (rawMs.length * 1000) / total(rawMs)
      const ms = (v: number) => v.toFixed(v < 1 ? 3 : 1)
      return [
        result(
          "forecast.latency",
          "fit+predict/s",
          umbraPerSecond,
          rawPerSecond,
          `${fitMs.length} clients, ${historySteps} 5-min buckets each (${historyDays} days; historySteps=${historySteps}), ${source}; ` +
            `fit p50 ${ms(percentile(fitMs, 0.5))} ms p99 ${ms(percentile(fitMs, 0.99))} ms, ` +
            `predict p50 ${ms(percentile(predictMs, 0.5))} ms p99 ${ms(percentile(predictMs, 0.99))} ms ` +
            `(p99 of ${fitMs.length} = the max); unrounded ${umbraPerSecond.toFixed(2)}/s vs ${rawPerSecond.toFixed(2)}/s; baseline: one ml-regression-multivariate-linear fit per client ` +
            `(${rawRows}×${FEATURE_COUNT} → ${outputs} outputs, no intercept, no statistics), p50 ${ms(percentile(rawMs, 0.5))} ms; ` +
            `Umbra's refit builds the features and solves 1 + 2×3 IRLS least squares; value and baseline are inverse latencies`
        )
      ]
    }
  }
]
