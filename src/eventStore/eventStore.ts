import { Context, type Effect, type Stream } from "effect"
import type { NewEvent, Position, StoredEvent } from "../../domain/envelope.ts"
import type { ValidationFailed } from "../../domain/errors.ts"
import type { ConcurrencyConflict, DuplicateEventId, StoreUnavailable } from "./errors.ts"

/** What the writer believes about the stream: revisions count from 0, the first event of a stream. */
export type ExpectedRevision = "any" | "no_stream" | "stream_exists" | number

export interface AppendResult {
  /** The revision of the last event of the call, now the stream's current revision. */
  readonly revision: number
  /** The global position of the last event of the call. */
  readonly position: Position
  /** False when the same ids were already stored at this place: the call appended nothing. */
  readonly appended: boolean
}

export interface ReadStreamOptions {
  readonly direction?: "forwards" | "backwards"
  /** Inclusive; the default is the first (forwards) or the last (backwards) revision. */
  readonly from?: number
  readonly limit?: number
}

export interface ReadAllOptions {
  /** Exclusive: events strictly after this position; from the start when absent. */
  readonly after?: Position
  readonly limit?: number
}

export interface ListStreamsOptions {
  /** Only streams whose name starts with this (e.g. `instance-acme.`). */
  readonly prefix?: string
  /** Exclusive: streams named after this one; from the first name when absent. */
  readonly after?: string
  readonly limit?: number
}

/** A stream of the store, named with the revision of its newest event. */
export interface StreamSummary {
  readonly stream: string
  readonly revision: number
}

/** Retention, in KurrentDB's terms: `$maxAge` in seconds, `$maxCount` events. */
export interface StreamMetadata {
  readonly maxAge?: number
  readonly maxCount?: number
}

/**
 * An aggregate's state folded through the stream's `revision`, encoded by its decider's state schema of
 * snapshot `version`: a reader with another version ignores it and folds the stream instead.
 */
export interface Snapshot {
  readonly revision: number
  readonly version: number
  readonly state: unknown
}

export interface ScavengeResult {
  readonly removed: number
}

export type AppendError = ConcurrencyConflict | DuplicateEventId | ValidationFailed | StoreUnavailable

export interface EventStoreShape {
  readonly append: (
    stream: string,
    expected: ExpectedRevision,
    events: ReadonlyArray<NewEvent>
  ) => Effect.Effect<AppendResult, AppendError>
  /** Retention applies: events past the stream's max age or count are not returned. Missing stream: []. */
  readonly readStream: (
    stream: string,
    options?: ReadStreamOptions
  ) => Effect.Effect<ReadonlyArray<StoredEvent>, ValidationFailed | StoreUnavailable>
  /** The global log in commit order. Retention takes effect here only once scavenged. */
  readonly readAll: (options?: ReadAllOptions) => Effect.Effect<ReadonlyArray<StoredEvent>, StoreUnavailable>
  /** The streams that hold events, in name order (code-unit order), a page at a time. */
  readonly listStreams: (options?: ListStreamsOptions) => Effect.Effect<ReadonlyArray<StreamSummary>, StoreUnavailable>
  /** Catches up from `after`, then follows live: every event once, in order, no gap at the hand-over. */
  readonly subscribe: (options?: { readonly after?: Position }) => Stream.Stream<StoredEvent, StoreUnavailable>
  readonly setStreamMetadata: (
    stream: string,
    metadata: StreamMetadata
  ) => Effect.Effect<void, ValidationFailed | StoreUnavailable>
  readonly getStreamMetadata: (stream: string) => Effect.Effect<StreamMetadata, ValidationFailed | StoreUnavailable>
  /** The newest snapshot kept for the stream, if any; it is never part of the stream or of the global log. */
  readonly readSnapshot: (stream: string) => Effect.Effect<Snapshot | undefined, ValidationFailed | StoreUnavailable>
  /** Keeps `snapshot` as the stream's newest unless a newer one (a higher revision) is kept already. */
  readonly writeSnapshot: (stream: string, snapshot: Snapshot) => Effect.Effect<void, ValidationFailed | StoreUnavailable>
  /** Reclaims what retention hides. */
  readonly scavenge: () => Effect.Effect<ScavengeResult, StoreUnavailable>
  /** The position of the newest event, if any: with a reader's checkpoint it gives the reader's lag. */
  readonly headPosition: () => Effect.Effect<Position | undefined, StoreUnavailable>
}

export class EventStore extends Context.Service<EventStore, EventStoreShape>()("umbra/EventStore") {}
