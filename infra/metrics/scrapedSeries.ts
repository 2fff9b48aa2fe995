import { Effect } from "effect"
import type { Position } from "../../domain/envelope.ts"
import type { ScrapeSource, WatchdogReading } from "../../src/metrics.ts"

type Labels = Readonly<Record<string, string>>
export type Sample = readonly [Labels, number]

/** How a series is exposed: its name, kind, help and label names. */
export interface SeriesShape {
  readonly kind: "gauge" | "counter"
  readonly name: string
  readonly help: string
  readonly labelNames: ReadonlyArray<string>
}

/** A source's series, and the samples of each (in the same order) from one reading of the source. */
export interface SourceSeries {
  readonly series: ReadonlyArray<SeriesShape>
  readonly samples: Effect.Effect<ReadonlyArray<ReadonlyArray<Sample>>, { readonly message: string }>
}

export interface Series<A> extends SeriesShape {
  readonly samplesOf: (reading: A) => Iterable<Sample>
}

const series = (kind: SeriesShape["kind"]) =>
<A>(name: string, help: string, labelNames: ReadonlyArray<string>, samplesOf: (reading: A) => Iterable<Sample>): Series<A> => ({
  kind,
  name,
  help,
  labelNames,
  samplesOf
})
export const gauge = series("gauge")
export const counter = series("counter")

/** One reading gives every series of its source. */
export const fromReading = <A>(read: Effect.Effect<A, { readonly message: string }>, all: ReadonlyArray<Series<A>>): SourceSeries => ({
  series: all,
  samples: read.pipe(Effect.map((reading) => all.map((one) => [...one.samplesOf(reading)])))
})

const single = <A>(value: (reading: A) => number) => (reading: A): Array<Sample> => [[{}, value(reading)]]

/** A position that counts events (SQLite, in memory: 20 digits) as a number; KurrentDB's pairs of byte offsets count nothing. */
const positionSamples = (position: Position | undefined, labels: Labels = {}): Array<Sample> =>
  position === undefined || position.length > 20 ? [] : [[labels, Number(BigInt(position))]]

const instancesByTenantAndReadiness = ({ instances }: WatchdogReading) => {
  const counts = new Map<string, { readonly tenant: string; readonly ready: string; count: number }>()
  for (const { tenant, ready } of instances) {
    const key = `${tenant}/${ready}`
    const entry = counts.get(key) ?? { tenant, ready: String(ready), count: 0 }
    entry.count++
    counts.set(key, entry)
  }
  return [...counts.values()].map(({ tenant, ready, count }): Sample => [{ tenant, ready }, count])
}

/** A tenant's count of each name, labelled `label`; every name is there, zero or not. */
const labelledCounts = (tenant: string, label: string, counts: Readonly<Record<string, number>>) =>
  Object.entries(counts).map(([name, count]): Sample => [{ tenant, [label]: name }, count])

/** The series of every kind of source. */
export const seriesOf = (source: ScrapeSource): SourceSeries => {
  switch (source._tag) {
    case "Relay":
      return fromReading(source.read, [
        gauge("umbra_relay_lag_events", "Decisions stored but not yet published to UMBRA_EVENTS (counted up to 10000)", [], single((h) => h.lag.pending)),
        gauge("umbra_relay_failing", "1 while the relay has failed since its checkpoint last moved, else 0", [], single((h) => (h.failing ? 1 : 0))),
        gauge("umbra_relay_last_error_timestamp_seconds", "When the relay last failed to read, publish or checkpoint (absent: not since start)", [], (h) =>
          h.lastError === undefined ? [] : [[{}, h.lastError.atMs / 1000]]),
        gauge("umbra_relay_checkpoint_position", "The relay's checkpoint: the last event of the store's global log it published", [], (h) => positionSamples(h.checkpoint)),
        gauge("umbra_relay_since_progress_seconds", "Seconds since the relay's checkpoint last moved (grows while idle too: read it with the lag)", [], single((h) => h.sinceProgressMs / 1000)),
        counter("umbra_relay_published_events_total", "Decisions this process published to UMBRA_EVENTS", [], single((h) => h.published))
      ])
    case "Consumers":
      return fromReading(source.read, [
        gauge("umbra_consumer_pending_messages", "Messages of UMBRA_EVENTS not yet delivered to the durable consumer", ["consumer"], (consumers) =>
          consumers.map((c) => [{ consumer: c.durable }, c.pending])),
        gauge("umbra_consumer_ack_pending_messages", "Messages delivered to the durable consumer and not yet acknowledged", ["consumer"], (consumers) =>
          consumers.map((c) => [{ consumer: c.durable }, c.ackPending])),
        gauge("umbra_consumer_redelivered_messages", "Messages delivered to the durable consumer more than once and not yet acknowledged", ["consumer"], (consumers) =>
          consumers.map((c) => [{ consumer: c.durable }, c.redelivered]))
      ])
    case "DeadLetters":
      return fromReading(source.read, [
        counter("umbra_dead_letters_parked_total", "Messages a consumer could not handle, parked in UMBRA_DLQ by this process", ["consumer"], (parked) =>
          [...parked].map(([consumer, count]) => [{ consumer }, count]))
      ])
    case "Projections":
      return fromReading(source.read, [
        gauge("umbra_projection_checkpoint_position", "How far the projection has folded the store's global log", ["projection"], (positions) =>
          positions.flatMap((p) => positionSamples(p.checkpoint, { projection: p.projection }))),
        gauge("umbra_projection_lag_events", "Events of the global log the projection has still to fold (counted up to 10000)", ["projection"], (positions) =>
          positions.map((p) => [{ projection: p.projection }, p.pending]))
      ])
    case "TelemetryIngest":
      return fromReading(source.read, [
        counter("umbra_telemetry_samples_applied_total", "Telemetry samples this process folded into the telemetry read model", [], single((s) => s.applied)),
        counter("umbra_telemetry_samples_dropped_total", "Telemetry signals this process dropped (of no known instance, or no sample)", [], single((s) => s.dropped)),
        gauge("umbra_telemetry_checkpoint_sequence", "The last UMBRA_SIGNALS sequence folded into the telemetry read model", [], single((s) => s.checkpoint))
      ])
    case "Tenants":
      return fromReading(source.read, [
        gauge("umbra_clients", "Clients of the tenant, connected or not", ["tenant", "state"], (tenants) =>
          tenants.flatMap(({ tenant, summary }) => labelledCounts(tenant, "state", summary.clients))),
        gauge("umbra_instances", "Instances of the tenant not gone, by role (shadow, production, pooled)", ["tenant", "role"], (tenants) =>
          tenants.flatMap(({ tenant, summary }) => labelledCounts(tenant, "role", summary.instances.byRole))),
        gauge("umbra_instances_by_state", "Instances of the tenant not gone, by state", ["tenant", "state"], (tenants) =>
          tenants.flatMap(({ tenant, summary }) => labelledCounts(tenant, "state", summary.instances.byState))),
        gauge("umbra_launches", "Launches of the tenant by outcome (underWay, completed, rolledBack)", ["tenant", "outcome"], (tenants) =>
          tenants.flatMap(({ tenant, summary }) => labelledCounts(tenant, "outcome", summary.launches)))
      ])
    case "Watchdog":
      return fromReading(source.read, [
        gauge("umbra_watchdog_instances", "Instances whose heartbeats the watchdog tracks, by tenant and whether they have said they are ready", ["tenant", "ready"], instancesByTenantAndReadiness),
        counter("umbra_watchdog_bad_signals_total", "Heartbeats the watchdog dropped since start because they did not decode", [], single((w) => w.badSignals)),
        counter("umbra_watchdog_heartbeat_latency_rises_total", "Sustained rises of an instance's heartbeat round trips the watchdog saw since start", [], single((w) => w.latencyRises))
      ])
  }
}
