import { Schema } from "effect"
import { ClientId, InstanceId } from "./ids.ts"

/** An ISO-8601 time that parses: a sample's time becomes a bucket's start. */
const Time = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/),
  Schema.makeFilter((at: string) => Number.isFinite(Date.parse(at)) || "not a valid time")
)
/** Finite, and within what a machine can have: no Infinity (`1e999` in JSON) reaches a read model. */
const Amount = (max: number) => Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: max }))
/** The most workload metrics one sample may carry (the agent sends no more). */
export const maxMetrics = 64
const MetricName = Schema.String.check(Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_.]{0,63}$/))
/** The workload's own numbers: a few, named, finite (each one becomes read-model rows). */
const Metrics = Schema.Record(MetricName, Schema.Finite).check(
  Schema.makeFilter((metrics: Readonly<Record<string, number>>) => Object.keys(metrics).length <= maxMetrics || `at most ${maxMetrics} metrics`)
)

/** `umbra.sig.<tenant>.<instanceId>.hb`: an instance is alive, and whether it is ready to serve. */
export const Heartbeat = Schema.Struct({
  instanceId: InstanceId,
  seq: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  at: Time,
  ready: Schema.Boolean,
  /**
   * The last heartbeat round trip the agent measured (publish to the control plane's echo), in ms by its
   * own monotonic clock. Optional: agents before it send none.
   */
  rttMs: Schema.optionalKey(Amount(3_600_000)),
  /** Whether the workload has not been ready yet since it started (its warm-up). Optional: agents before it send none. */
  warming: Schema.optionalKey(Schema.Boolean)
})
export type Heartbeat = typeof Heartbeat.Type

/** `umbra.ctl.<tenant>.<instanceId>.echo`: the control plane's answer to a heartbeat, naming its `seq`. */
export const HeartbeatEcho = Schema.Struct({ seq: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) })
export type HeartbeatEcho = typeof HeartbeatEcho.Type

/** `umbra.sig.<tenant>.<instanceId>.tm`: what an instance uses; the workload may add numeric metrics. */
export const TelemetrySample = Schema.Struct({
  instanceId: InstanceId,
  /** The client the instance serves, so that its demand adds up per client. */
  clientId: Schema.optionalKey(ClientId),
  at: Time,
  /** Cores in use, and bytes of memory: bounded by the largest machines (4,096 cores, 64 TiB). */
  cpu: Amount(4_096),
  memBytes: Amount(64 * 1024 ** 4),
  metrics: Schema.optionalKey(Metrics)
})
export type TelemetrySample = typeof TelemetrySample.Type

/** An absolute path with no `..` segment and no control characters. */
const FilePath = Schema.String.check(Schema.isPattern(/^(?!.*(?:^|\/)\.\.(?:\/|$))\/[^\u0000-\u001f]{1,1023}$/))
/** The most files one report may name: a workload's libraries and warm files are far fewer. */
export const maxDependencyFiles = 512

/** A file the workload depends on: a library it mapped, a file it holds open, or a file of its state paths. */
export const DependencyFile = Schema.Struct({
  path: FilePath,
  kind: Schema.Literals(["library", "file", "state"]),
  bytes: Amount(2 ** 50)
})
export type DependencyFile = typeof DependencyFile.Type

/**
 * `umbra.sig.<tenant>.<instanceId>.dp`: what the workload loaded and opened while it warmed up, reported
 * once it is first ready after each start.
 */
export const DependencyReport = Schema.Struct({
  instanceId: InstanceId,
  at: Time,
  files: Schema.Array(DependencyFile).check(Schema.isMaxLength(maxDependencyFiles))
})
export type DependencyReport = typeof DependencyReport.Type

/** An archived heartbeat in `heartbeat-<tenant>.<instanceId>`: the signal, and when the archiver stored it. */
export const HeartbeatRecorded = Schema.TaggedStruct("HeartbeatRecorded", { ...Heartbeat.fields, recordedAt: Schema.String })

/** An archived telemetry sample in `telemetry-<tenant>.<instanceId>`. */
export const TelemetryRecorded = Schema.TaggedStruct("TelemetryRecorded", { ...TelemetrySample.fields, recordedAt: Schema.String })
