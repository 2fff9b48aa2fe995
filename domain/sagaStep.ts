import { Schema } from "effect"

/** A command a saga sends: its id is derived from the input event, so sending it again is harmless. */
export const IssuedCommand = Schema.Struct({
  commandId: Schema.String,
  type: Schema.String,
  data: Schema.Record(Schema.String, Schema.Unknown)
})
export type IssuedCommand = typeof IssuedCommand.Type

/**
 * A saga's progress: the event it reacted to, as stored (its data at its own `schemaVersion`, so that it is
 * read up to today's schema like any stored event), and the commands it decided to send for it.
 * Version 2 (version 1 did not record the input's version: see `sagaStepV1.ts`).
 */
export const SagaStepRecorded = Schema.TaggedStruct("SagaStepRecorded", {
  saga: Schema.String,
  input: Schema.Struct({
    eventId: Schema.String,
    type: Schema.String,
    stream: Schema.String,
    schemaVersion: Schema.Int,
    data: Schema.Unknown
  }),
  commands: Schema.Array(IssuedCommand)
})
export type SagaStepRecorded = typeof SagaStepRecorded.Type
