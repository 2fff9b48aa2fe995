import { assert, layer } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { MetricsExposition } from "../../infra/metrics/prometheusMetrics.ts"
import { natsTestLayer } from "../harness/natsServer.ts"
import { requestRaw, send } from "../support/controlPlane.ts"
import { DelayProxy } from "../support/delayProxy.ts"
import { eventually } from "../support/eventually.ts"
import { sampleOf } from "../support/metricsText.ts"
import { AgentNats, orchestratedControlPlaneOn, shadowOf, shadowTestSettings, sharedTemplate, testTenant } from "../support/shadowHarness.ts"

const tenant = testTenant("lat")

/** Five beats a second, so that a rise shows within seconds; no pool, so the client's shadow is the one agent behind the proxy. */
const settings = { ...shadowTestSettings, heartbeatMs: 200, poolSize: 0 }

/** Each way: every round trip measured after it is at least twice this. */
const delayMs = 150

const agentsThroughProxy = Layer.effect(AgentNats, Effect.map(DelayProxy, (proxy) => ({ url: proxy.url }))).pipe(
  Layer.provideMerge(DelayProxy.inFrontOfNats)
)

const Latency = Schema.Struct({ lastMs: Schema.Finite, p50Ms: Schema.Finite, p99Ms: Schema.Finite, samples: Schema.Int })
const LivenessAnswer = Schema.Struct({
  ok: Schema.Literal(true),
  result: Schema.Struct({ instances: Schema.Array(Schema.Struct({ instanceId: Schema.String, latency: Schema.NullOr(Latency) })) })
})

/** The instance's heartbeat latency as `umbra.query.<tenant>.Liveness` answers it; null while none is known. */
const latencyOf = (instanceId: string) =>
  requestRaw(`umbra.query.${tenant}.Liveness`, "{}").pipe(
    Effect.flatMap(Schema.decodeUnknownEffect(LivenessAnswer)),
    Effect.map((answer) => answer.result.instances.find((row) => row.instanceId === instanceId)?.latency ?? null)
  )

/** The watchdog's count of sustained rises, as /metrics would expose it. */
const rises = MetricsExposition.use((exposition) => exposition.render).pipe(
  Effect.map((text) => sampleOf(text, "umbra_watchdog_heartbeat_latency_rises_total") ?? 0)
)

layer(orchestratedControlPlaneOn(tenant, "process", settings).pipe(Layer.provideMerge(agentsThroughProxy), Layer.provideMerge(natsTestLayer)), {
  excludeTestServices: true,
  timeout: "120 seconds"
})("heartbeat latency of a live shadow", (it) => {
  it.effect("Liveness answers last, p50 and p99 of the shadow's round trips, and sees them rise when its path to NATS is delayed", () =>
    Effect.gen(function* () {
      const proxy = yield* DelayProxy
      assert.isTrue((yield* send(tenant, "ConnectClient", { clientId: "c1", tier: "basic", template: sharedTemplate })).ok)
      yield* eventually(shadowOf(tenant, "c1").pipe(Effect.map((id) => id !== undefined)), 20_000, "a profile")
      const instanceId = (yield* shadowOf(tenant, "c1"))!

      // Enough round trips before the delay for the watchdog to compare the later ones with.
      yield* eventually(latencyOf(instanceId).pipe(Effect.map((latency) => (latency?.samples ?? 0) >= 16)), 60_000, "16 round trips in Liveness")
      const before = (yield* latencyOf(instanceId))!
      assert.isAtMost(before.p50Ms, before.p99Ms)
      assert.isBelow(before.p50Ms, 2 * delayMs, "undelayed round trips are faster than the delay about to be added")
      const risesBefore = yield* rises

      yield* proxy.setDelay(delayMs)
      yield* eventually(latencyOf(instanceId).pipe(Effect.map((latency) => (latency?.lastMs ?? 0) >= 2 * delayMs)), 20_000, "a delayed round trip in Liveness")
      const after = (yield* latencyOf(instanceId))!
      assert.isAbove(after.samples, before.samples)
      assert.isAtLeast(after.p99Ms, Math.max(before.p99Ms, 2 * delayMs))
      // Eight delayed round trips in a row are a sustained rise: counted once.
      yield* eventually(rises.pipe(Effect.map((n) => n > risesBefore)), 20_000, "a rise counted")
      yield* Effect.logInfo("heartbeat latency", { before, after, rises: yield* rises })
    }), 90_000)
})
