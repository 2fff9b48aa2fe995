import { Schema } from "effect"

/** Every error tag a command or query reply may carry (DESIGN.md, "The public interface"); InternalError is a bug. */
export const replyErrorTags = [
  "MalformedRequest",
  "UnknownCommand",
  "InvalidTenant",
  "PayloadTooLarge",
  "ValidationFailed",
  "IllegalState",
  "NotFound",
  "ConcurrencyConflict",
  "DuplicateEventId",
  "StoreUnavailable"
] as const

const ErrorReply = Schema.Struct({
  ok: Schema.Literal(false),
  error: Schema.Struct({ tag: Schema.Literals(replyErrorTags), message: Schema.String, details: Schema.Record(Schema.String, Schema.Unknown) })
})

const EventSummary = Schema.Struct({ id: Schema.String, type: Schema.String, stream: Schema.String, revision: Schema.Int, position: Schema.String })

/** `{"ok": true, "duplicate", "events"}` or a typed error, as a command's reply is documented. */
export const CommandReply = Schema.fromJsonString(
  Schema.Union([Schema.Struct({ ok: Schema.Literal(true), duplicate: Schema.Boolean, events: Schema.Array(EventSummary) }), ErrorReply])
)
export type CommandReply = typeof CommandReply.Type

/** `{"ok": true, "result"}` or a typed error, as a query's reply is documented. */
export const QueryReply = Schema.fromJsonString(Schema.Union([Schema.Struct({ ok: Schema.Literal(true), result: Schema.Unknown }), ErrorReply]))
