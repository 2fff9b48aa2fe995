import { Schema } from "effect"
import { HeartbeatRecordedV1 } from "./heartbeatRecordedV1.ts"
import type { HeartbeatRecorded } from "./signals.ts"

/** HeartbeatRecorded as version 2 wrote it: with the round trip, before agents said whether the workload was warming. */
export const HeartbeatRecordedV2 = Schema.Struct({
  ...HeartbeatRecordedV1.fields,
  rttMs: Schema.optionalKey(Schema.Finite)
})

/** A v2 heartbeat did not say whether its workload was warming: it reads as v3 without `warming`. */
export const heartbeatRecordedFromV2 = (v2: typeof HeartbeatRecordedV2.Type): Omit<typeof HeartbeatRecorded.Encoded, "_tag"> => v2
