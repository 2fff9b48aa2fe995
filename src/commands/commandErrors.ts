import { Schema } from "effect"

const Details = Schema.Record(Schema.String, Schema.Unknown)

/** The body is not JSON, or not the `{commandId, correlationId?, data}` envelope. */
export class MalformedRequest extends Schema.TaggedError<MalformedRequest>()("MalformedRequest", {
  message: Schema.String,
  details: Details
}) {}

/** No command of that type exists. */
export class UnknownCommand extends Schema.TaggedError<UnknownCommand>()("UnknownCommand", {
  message: Schema.String,
  details: Details
}) {}

/** The tenant in the subject is not a valid token. */
export class InvalidTenant extends Schema.TaggedError<InvalidTenant>()("InvalidTenant", {
  message: Schema.String,
  details: Details
}) {}

/** The body is larger than the gateway accepts. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: Schema.String,
  details: Details
}) {}
