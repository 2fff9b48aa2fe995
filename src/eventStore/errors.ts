import { Schema } from "effect"

const Expected = Schema.Union([Schema.Literals(["any", "no_stream", "stream_exists"]), Schema.Int])

/** The stream is not where the writer expected it: reload, decide again, retry. */
export class ConcurrencyConflict extends Schema.TaggedError<ConcurrencyConflict>()("ConcurrencyConflict", {
  stream: Schema.String,
  expected: Expected,
  actual: Schema.Union([Schema.Literal("no_stream"), Schema.Int])
}) {}

/** An event id already stored at another place: ids are unique across the whole store. */
export class DuplicateEventId extends Schema.TaggedError<DuplicateEventId>()("DuplicateEventId", {
  eventId: Schema.String,
  stream: Schema.String,
  storedIn: Schema.String
}) {}

/** The store could not be reached or failed underneath; the call may succeed if tried again. */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  message: Schema.String
}) {}
