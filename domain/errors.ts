import { Schema } from "effect"

/** Input that fails its schema or a limit: nothing was stored. */
export class ValidationFailed extends Schema.TaggedError<ValidationFailed>()("ValidationFailed", {
  message: Schema.String,
  details: Schema.Record(Schema.String, Schema.Unknown)
}) {}

/** A command that the aggregate's current state does not allow. */
export class IllegalState extends Schema.TaggedError<IllegalState>()("IllegalState", {
  message: Schema.String,
  details: Schema.Record(Schema.String, Schema.Unknown)
}) {}

/** Something a command or query names does not exist. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  message: Schema.String,
  details: Schema.Record(Schema.String, Schema.Unknown)
}) {}

export type DomainError = ValidationFailed | IllegalState | NotFound
