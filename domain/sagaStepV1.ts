import { Schema } from "effect"
import { IssuedCommand, type SagaStepRecorded } from "./sagaStep.ts"

/** SagaStepRecorded as version 1 wrote it: the input event's data without its version. */
export const SagaStepRecordedV1 = Schema.Struct({
  saga: Schema.String,
  input: Schema.Struct({ eventId: Schema.String, type: Schema.String, stream: Schema.String, data: Schema.Unknown }),
  commands: Schema.Array(IssuedCommand)
})

/** Version 1 steps were recorded while every event type was at version 1 (ProfileRefined v2 came with step v2). */
export const sagaStepRecordedFromV1 = (v1: typeof SagaStepRecordedV1.Type): Omit<typeof SagaStepRecorded.Encoded, "_tag"> => ({
  ...v1,
  input: { ...v1.input, schemaVersion: 1 }
})
