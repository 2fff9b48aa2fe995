import { Schema } from "effect"

/** A command a saga sends: its id is derived from the input event, so sending it again is harmless. */
export const IssuedCommand = Schema.Struct({
  commandId: Schema.String,
  type: Schema.String,
  data: Schema.Record(Schema.String, Schema.Unknown)
})
export type IssuedCommand = typeof IssuedCommand.Type

/** A saga's progress: the event it reacted to and the commands it decided to send for it. */
export const SagaStepRecorded = Schema.TaggedStruct("SagaStepRecorded", {
  saga: Schema.String,
  input: Schema.Struct({
    eventId: Schema.String,
    type: Schema.String,
    stream: Schema.String,
    data: Schema.Unknown
  }),
  commands: Schema.Array(IssuedCommand)
})
export type SagaStepRecorded = typeof SagaStepRecorded.Type
