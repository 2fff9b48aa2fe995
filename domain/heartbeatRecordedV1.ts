import { Schema } from "effect"
import { InstanceId } from "./ids.ts"
import type { HeartbeatRecorded } from "./signals.ts"

/** HeartbeatRecorded as version 1 wrote it: before agents measured the heartbeat's round trip. */
export const HeartbeatRecordedV1 = Schema.Struct({
  instanceId: InstanceId,
  seq: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  at: Schema.String,
  ready: Schema.Boolean,
  recordedAt: Schema.String
})

/** A v1 heartbeat measured no round trip: it reads as v2 without `rttMs`. */
export const heartbeatRecordedFromV1 = (v1: typeof HeartbeatRecordedV1.Type): Omit<typeof HeartbeatRecorded.Encoded, "_tag"> => v1
