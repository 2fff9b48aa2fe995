import { Schema } from "effect"
import { ClientId, InstanceId } from "./ids.ts"

/** `umbra.sig.<tenant>.<instanceId>.hb`: an instance is alive, and whether it is ready to serve. */
export const Heartbeat = Schema.Struct({
  instanceId: InstanceId,
  seq: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  at: Schema.String,
  ready: Schema.Boolean
})
export type Heartbeat = typeof Heartbeat.Type

/** `umbra.sig.<tenant>.<instanceId>.tm`: what an instance uses; the workload may add numeric metrics. */
export const TelemetrySample = Schema.Struct({
  instanceId: InstanceId,
  /** The client the instance serves, so that its demand adds up per client. */
  clientId: Schema.optionalKey(ClientId),
  at: Schema.String,
  cpu: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)),
  memBytes: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)),
  metrics: Schema.optionalKey(Schema.Record(Schema.String, Schema.Number))
})
export type TelemetrySample = typeof TelemetrySample.Type

/** An archived heartbeat in `heartbeat-<tenant>.<instanceId>`: the signal, and when the archiver stored it. */
export const HeartbeatRecorded = Schema.TaggedStruct("HeartbeatRecorded", { ...Heartbeat.fields, recordedAt: Schema.String })

/** An archived telemetry sample in `telemetry-<tenant>.<instanceId>`. */
export const TelemetryRecorded = Schema.TaggedStruct("TelemetryRecorded", { ...TelemetrySample.fields, recordedAt: Schema.String })
