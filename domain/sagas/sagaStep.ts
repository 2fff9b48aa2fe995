import { Schema } from "effect"
import type { DomainCommand } from "../commands.ts"
import type { CommandId } from "../ids.ts"

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

/** A recorded command, decoded: the id it was sent under and the command. */
export interface SagaCommand {
  readonly commandId: CommandId
  readonly command: DomainCommand
}

/** A recorded step as the saga folds it. */
export interface SagaStep {
  readonly input: SagaStepRecorded["input"]
  readonly commands: ReadonlyArray<SagaCommand>
}
