import { assert, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { controlPlaneTestLayer, jetStreamEvents, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { tenantKey } from "../../domain/tenantKey.ts"
import { recordInstance } from "../support/recordedInstances.ts"

const day = 24 * 60 * 60_000
const step = 5 * 60_000
// Two days ending now, on the 5-minute grid: archived telemetry stays within its retention.
const start = Math.floor((Date.now() - 2 * day) / step) * step
const encoder = new TextEncoder()

/** A simulated agent: two days of 5-minute telemetry with a daily cycle, and a heartbeat (stamped now) with each sample. */
const publishTwoDays = Effect.gen(function* () {
  const nc = yield* NatsConnection
  for (let i = 0; i < (2 * day) / step; i++) {
    const at = new Date(start + i * step).toISOString()
    const cpu = 0.3 + 0.2 * Math.sin((2 * Math.PI * i * step) / day)
    nc.publish("umbra.sig.acme.shd-sim.tm", encoder.encode(JSON.stringify({ instanceId: "shd-sim", clientId: "c1", at, cpu, memBytes: 300 * 1024 * 1024 })))
    const beat = { instanceId: "shd-sim", seq: i, at: new Date().toISOString(), ready: true }
    nc.publish("umbra.sig.acme.shd-sim.hb", encoder.encode(JSON.stringify(beat)))
  }
  nc.publish("umbra.sig.acme.shd-sim.tm", encoder.encode("{not a sample"))
  yield* Effect.promise(() => nc.flush())
})

// The history is two days old: the control plane accepts signal times that far from its clock.
const historyAccepted = controlPlaneTestLayer.pipe(
  Layer.provide(ConfigProvider.layerAdd(ConfigProvider.fromUnknown({ UMBRA_SIGNAL_CLOCK_SKEW_MS: String(3 * day) }), { asPrimary: true }))
)

layer(historyAccepted, { excludeTestServices: true, timeout: "120 seconds" })("telemetry to forecasts", (it) => {
  it.effect(
    "telemetry with a daily pattern fills the read model, then ForecastUpdated and ProfileRefined follow, and signals are archived",
    () =>
      Effect.gen(function* () {
        assert.isTrue((yield* send("acme", "ConnectClient", { clientId: "c1", tier: "standard" })).ok)
        const store = yield* EventStore
        yield* eventually(store.readStream("profile-acme.c1").pipe(Effect.map((s) => s.length === 1)), 10_000, "the profile")
        // The ingest counts an instance's samples for the client the store has it serving.
        yield* recordInstance("acme", "shd-sim", "c1")
        yield* publishTwoDays

        const telemetry = yield* TelemetryReadModel
        yield* eventually(
          telemetry.series({ scope: "client", key: tenantKey("acme", "c1"), metric: "cpu", size: "5m" }).pipe(Effect.map((s) => s.length === 576)),
          30_000,
          "576 five-minute buckets for the client"
        )
        const buckets = yield* telemetry.series({ scope: "client", key: tenantKey("acme", "c1"), metric: "cpu", size: "5m" })
        assert.isTrue(buckets.every((b) => b.count === 1))

        yield* eventually(store.readStream("forecast-acme.c1").pipe(Effect.map((s) => s.length >= 2)), 30_000, "ForecastUpdated")
        const forecasts = yield* store.readStream("forecast-acme.c1")
        assert.deepStrictEqual(new Set(forecasts.map((e) => e.type)), new Set(["ForecastUpdated"]))
        const cpuForecast = forecasts.find((e) => (e.data as { metric: string }).metric === "cpu")!.data as {
          horizons: ReadonlyArray<{ minutes: number; predicted: number; upper: number }>
          quality: { scoredSteps: number }
        }
        assert.deepStrictEqual(cpuForecast.horizons.map((h) => h.minutes), [15, 30, 60])
        assert.isTrue(cpuForecast.horizons.every((h) => h.upper >= h.predicted && h.upper < 1.5))
        assert.isAbove(cpuForecast.quality.scoredSteps, 0)

        yield* eventually(
          store.readStream("profile-acme.c1").pipe(Effect.map((s) => s.some((e) => e.type === "ProfileRefined"))),
          30_000,
          "ProfileRefined"
        )
        const refined = (yield* store.readStream("profile-acme.c1")).find((e) => e.type === "ProfileRefined")!.data as {
          expected: { cpuMillis: number }
          reason: string
        }
        assert.isBelow(refined.expected.cpuMillis, 2000, "the standard tier's 2000 m shrinks toward ~0.5 cores of demand")
        assert.match(refined.reason, /^(forecast|fallback)/)

        yield* eventually(
          Effect.all([store.readStream("heartbeat-acme.shd-sim"), store.readStream("telemetry-acme.shd-sim")]).pipe(
            Effect.map(([hb, tm]) => hb.length === 576 && tm.length === 576)
          ),
          30_000,
          "every heartbeat and sample archived"
        )
        assert.deepStrictEqual(yield* store.getStreamMetadata("telemetry-acme.shd-sim"), { maxAge: 35 * 24 * 60 * 60 })
        assert.lengthOf(yield* jetStreamEvents("umbra.evt.acme.telemetry.>"), 0, "the relay never republishes observations")
      }),
    120_000
  )
})
