import { Schema } from "effect"

/**
 * An opaque, ordered position in the global log. Adapters encode it so that string order is log order
 * (a fixed-width decimal); callers only compare, store and hand it back.
 */
export const Position = Schema.String.pipe(Schema.brand("Position"))
export type Position = typeof Position.Type

/** The metadata half of the envelope, as adapters that keep data and metadata apart store it. */
export const EventMetadata = Schema.Struct({
  at: Schema.String,
  tenant: Schema.String,
  correlationId: Schema.String,
  causationId: Schema.String,
  schemaVersion: Schema.Int
})
export type EventMetadata = typeof EventMetadata.Type

/** What a writer hands the store: the envelope less what the store assigns (stream, revision, position). */
export const NewEvent = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  ...EventMetadata.fields,
  data: Schema.Unknown
})
export type NewEvent = typeof NewEvent.Type

/** The envelope of every stored event, as DESIGN.md's public interface gives it. */
export const StoredEvent = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  stream: Schema.String,
  revision: Schema.Int,
  position: Position,
  ...EventMetadata.fields,
  data: Schema.Unknown
})
export type StoredEvent = typeof StoredEvent.Type

export const metadataOf = (event: NewEvent): EventMetadata => ({
  at: event.at,
  tenant: event.tenant,
  correlationId: event.correlationId,
  causationId: event.causationId,
  schemaVersion: event.schemaVersion
})
