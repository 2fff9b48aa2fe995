import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Ref, Scope } from "effect"
import { TestClock } from "effect/testing"
import type { Position } from "../../domain/envelope.ts"
import { MetricsExposition, layer as prometheusMetrics } from "../../infra/metrics/prometheusMetrics.ts"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"
import { Metrics } from "../../src/metrics.ts"
import type { RelayHealth } from "../../src/relay.ts"

const health: RelayHealth = {
  checkpoint: "00000000000000000042" as Position,
  published: 42,
  lastError: { message: "nats down", atMs: 1_700_000_000_000 },
  failing: true,
  progressAtMs: 1_700_000_000_000,
  lag: { checkpoint: "00000000000000000042" as Position, pending: 7, capped: false },
  sinceProgressMs: 2_500
}

/** The exposition's lines for `name` (its samples, not its HELP and TYPE). */
const samplesOf = (text: string, name: string) => text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))

const scrape = MetricsExposition.use((exposition) => exposition.render)

describe("the Prometheus adapter of the Metrics port", () => {
  it.effect("counts commands by tenant, type and outcome, with a latency histogram by type and outcome", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      yield* metrics.commandHandled({ tenant: "acme", type: "ConnectClient", outcome: "ok", seconds: 0.004 })
      yield* metrics.commandHandled({ tenant: "acme", type: "ConnectClient", outcome: "ok", seconds: 0.2 })
      yield* metrics.commandHandled({ tenant: "acme", type: "ConnectClient", outcome: "ValidationFailed", seconds: 0.001 })
      const text = yield* scrape
      assert.include(text, "# TYPE umbra_commands_total counter")
      assert.include(text, '# HELP umbra_commands_total Command requests answered')
      assert.deepStrictEqual(samplesOf(text, "umbra_commands_total"), [
        'umbra_commands_total{tenant="acme",type="ConnectClient",outcome="ok"} 2',
        'umbra_commands_total{tenant="acme",type="ConnectClient",outcome="ValidationFailed"} 1'
      ])
      assert.include(text, "# TYPE umbra_command_duration_seconds histogram")
      assert.include(text, 'umbra_command_duration_seconds_bucket{le="0.005",type="ConnectClient",outcome="ok"} 1')
      assert.include(text, 'umbra_command_duration_seconds_bucket{le="0.25",type="ConnectClient",outcome="ok"} 2')
      assert.include(text, 'umbra_command_duration_seconds_bucket{le="+Inf",type="ConnectClient",outcome="ok"} 2')
      assert.include(text, 'umbra_command_duration_seconds_count{type="ConnectClient",outcome="ok"} 2')
      // The process's own series come along under their usual names.
      assert.include(text, "# TYPE process_cpu_user_seconds_total counter")
    }).pipe(Effect.provide(prometheusMetrics)))

  it.effect("exposes forecast shortfall and slack per tenant and metric, weighted by scored steps, of clients scored lately", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      const score = { tenant: "acme", metric: "cpu", shortfall: 0, slack: 0, scoredSteps: 0, fallback: false }
      yield* metrics.forecastRecorded({ ...score, clientId: "gone", shortfall: 1, slack: 1, scoredSteps: 100 })
      yield* TestClock.adjust("31 minutes")
      yield* metrics.forecastRecorded({ ...score, clientId: "c1", shortfall: 0.1, slack: 0.3, scoredSteps: 10 })
      yield* metrics.forecastRecorded({ ...score, clientId: "c2", shortfall: 0, slack: 0.5, scoredSteps: 30, fallback: true })
      yield* metrics.forecastRecorded({ ...score, clientId: "c2", metric: "memBytes", scoredSteps: 0 })
      const text = yield* scrape
      assert.deepStrictEqual(samplesOf(text, "umbra_forecast_shortfall_ratio"), ['umbra_forecast_shortfall_ratio{tenant="acme",metric="cpu"} 0.025'])
      assert.deepStrictEqual(samplesOf(text, "umbra_forecast_slack_ratio"), ['umbra_forecast_slack_ratio{tenant="acme",metric="cpu"} 0.45'])
      assert.deepStrictEqual(samplesOf(text, "umbra_forecast_clients"), [
        'umbra_forecast_clients{tenant="acme",metric="cpu",fallback="false"} 1',
        'umbra_forecast_clients{tenant="acme",metric="cpu",fallback="true"} 1',
        'umbra_forecast_clients{tenant="acme",metric="memBytes",fallback="false"} 1',
        'umbra_forecast_clients{tenant="acme",metric="memBytes",fallback="true"} 0'
      ])
    }).pipe(Effect.provide(prometheusMetrics)))

  it.effect("reads a source once per scrape, and exposes its series only while it is registered", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      const reads = yield* Ref.make(0)
      const scope = yield* Scope.make()
      yield* metrics.readAtScrape({ _tag: "Relay", read: Ref.update(reads, (n) => n + 1).pipe(Effect.as(health)) }).pipe(Scope.provide(scope))
      const text = yield* scrape
      assert.strictEqual(yield* Ref.get(reads), 1)
      assert.deepStrictEqual(samplesOf(text, "umbra_relay_lag_events"), ["umbra_relay_lag_events 7"])
      assert.deepStrictEqual(samplesOf(text, "umbra_relay_failing"), ["umbra_relay_failing 1"])
      assert.deepStrictEqual(samplesOf(text, "umbra_relay_last_error_timestamp_seconds"), ["umbra_relay_last_error_timestamp_seconds 1700000000"])
      assert.deepStrictEqual(samplesOf(text, "umbra_relay_checkpoint_position"), ["umbra_relay_checkpoint_position 42"])
      assert.deepStrictEqual(samplesOf(text, "umbra_relay_since_progress_seconds"), ["umbra_relay_since_progress_seconds 2.5"])
      assert.include(text, "# TYPE umbra_relay_published_events_total counter\numbra_relay_published_events_total 42")
      yield* scrape
      assert.strictEqual(yield* Ref.get(reads), 2)
      yield* Scope.close(scope, Exit.void)
      assert.notInclude(yield* scrape, "umbra_relay_")
    }).pipe(Effect.provide(prometheusMetrics)))

  it.effect("leaves out the samples of a source that cannot be read, and leaves out an absent value", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      yield* metrics.readAtScrape({ _tag: "Consumers", read: Effect.fail(new StoreUnavailable({ message: "gone" })) })
      yield* metrics.readAtScrape({ _tag: "Relay", read: Effect.succeed({ ...health, lastError: undefined, failing: false }) })
      const text = yield* scrape
      assert.include(text, "# TYPE umbra_consumer_pending_messages gauge")
      assert.deepStrictEqual(samplesOf(text, "umbra_consumer_pending_messages"), [])
      assert.deepStrictEqual(samplesOf(text, "umbra_relay_last_error_timestamp_seconds"), [])
      assert.deepStrictEqual(samplesOf(text, "umbra_relay_failing"), ["umbra_relay_failing 0"])
    }).pipe(Effect.provide(prometheusMetrics)))

  it.effect("labels consumers, projections, tracked heartbeats and tenants' counts by what they are", () =>
    Effect.gen(function* () {
      const metrics = yield* Metrics
      yield* metrics.readAtScrape({ _tag: "Consumers", read: Effect.succeed([{ durable: "saga-connect", pending: 3, ackPending: 1, redelivered: 0 }]) })
      yield* metrics.readAtScrape({ _tag: "DeadLetters", read: Effect.succeed(new Map([["saga-connect", 2]])) })
      yield* metrics.readAtScrape({
        _tag: "Projections",
        read: Effect.succeed([
          { projection: "fleet", checkpoint: "00000000000000000010" as Position, pending: 5, capped: false },
          { projection: "tenant", checkpoint: undefined, pending: 15, capped: false }
        ])
      })
      yield* metrics.readAtScrape({ _tag: "TelemetryIngest", read: Effect.succeed({ applied: 9, dropped: 1, checkpoint: 12 }) })
      const instance = (tenant: string, instanceId: string, ready: boolean) => ({ tenant, instanceId: instanceId as never, epoch: "e", ready })
      yield* metrics.readAtScrape({
        _tag: "Watchdog",
        read: Effect.succeed({ instances: [instance("acme", "a", true), instance("acme", "b", true), instance("acme", "c", false)], badSignals: 4, latencyRises: 2 })
      })
      yield* metrics.readAtScrape({
        _tag: "Tenants",
        read: Effect.succeed([{
          tenant: "acme",
          summary: {
            clients: { connected: 2, disconnected: 1 },
            instances: {
              total: 2,
              byRole: { shadow: 1, production: 1, pooled: 0 },
              byState: { requested: 0, started: 0, ready: 1, lost: 0, recycled: 0, provisioning: 0, running: 1 }
            },
            launches: { underWay: 1, completed: 3, rolledBack: 0 },
            events: 40
          }
        }])
      })
      const text = yield* scrape
      assert.deepStrictEqual(samplesOf(text, "umbra_clients"), ['umbra_clients{tenant="acme",state="connected"} 2', 'umbra_clients{tenant="acme",state="disconnected"} 1'])
      assert.deepStrictEqual(samplesOf(text, "umbra_instances"), [
        'umbra_instances{tenant="acme",role="shadow"} 1',
        'umbra_instances{tenant="acme",role="production"} 1',
        'umbra_instances{tenant="acme",role="pooled"} 0'
      ])
      assert.include(samplesOf(text, "umbra_instances_by_state"), 'umbra_instances_by_state{tenant="acme",state="ready"} 1')
      assert.deepStrictEqual(samplesOf(text, "umbra_launches"), [
        'umbra_launches{tenant="acme",outcome="underWay"} 1',
        'umbra_launches{tenant="acme",outcome="completed"} 3',
        'umbra_launches{tenant="acme",outcome="rolledBack"} 0'
      ])
      assert.deepStrictEqual(samplesOf(text, "umbra_consumer_pending_messages"), ['umbra_consumer_pending_messages{consumer="saga-connect"} 3'])
      assert.deepStrictEqual(samplesOf(text, "umbra_consumer_ack_pending_messages"), ['umbra_consumer_ack_pending_messages{consumer="saga-connect"} 1'])
      assert.deepStrictEqual(samplesOf(text, "umbra_dead_letters_parked_total"), ['umbra_dead_letters_parked_total{consumer="saga-connect"} 2'])
      assert.deepStrictEqual(samplesOf(text, "umbra_projection_checkpoint_position"), ['umbra_projection_checkpoint_position{projection="fleet"} 10'])
      assert.deepStrictEqual(samplesOf(text, "umbra_projection_lag_events"), [
        'umbra_projection_lag_events{projection="fleet"} 5',
        'umbra_projection_lag_events{projection="tenant"} 15'
      ])
      assert.deepStrictEqual(samplesOf(text, "umbra_telemetry_samples_applied_total"), ["umbra_telemetry_samples_applied_total 9"])
      assert.deepStrictEqual(samplesOf(text, "umbra_telemetry_checkpoint_sequence"), ["umbra_telemetry_checkpoint_sequence 12"])
      assert.deepStrictEqual(samplesOf(text, "umbra_watchdog_instances"), [
        'umbra_watchdog_instances{tenant="acme",ready="true"} 2',
        'umbra_watchdog_instances{tenant="acme",ready="false"} 1'
      ])
      assert.deepStrictEqual(samplesOf(text, "umbra_watchdog_bad_signals_total"), ["umbra_watchdog_bad_signals_total 4"])
      assert.deepStrictEqual(samplesOf(text, "umbra_watchdog_heartbeat_latency_rises_total"), ["umbra_watchdog_heartbeat_latency_rises_total 2"])
    }).pipe(Effect.provide(prometheusMetrics)))
})
