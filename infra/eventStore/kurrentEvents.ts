import { type AllStreamResolvedEvent, jsonEvent, type JSONEventData, type JSONType, type ResolvedEvent } from "@kurrent/kurrentdb-client"
import { Effect, Schema } from "effect"
import { EventMetadata, metadataOf, type StoredEvent } from "../../domain/envelope.ts"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"
import type { PreparedEvent } from "./appendGuard.ts"
import { kurrentPosition } from "./kurrentPosition.ts"

/**
 * Our envelope on KurrentDB's terms: the event id is the server's event id (its idempotency key), data as JSON.
 * The client's JSONType leaves out top-level numbers, booleans and null, which it serializes all the same.
 */
export const toJsonEvent = ({ event }: PreparedEvent): JSONEventData =>
  jsonEvent({ id: event.id, type: event.type, data: event.data as JSONType, metadata: metadataOf(event) })

const decodeMetadata = Schema.decodeUnknownEffect(EventMetadata)

/** Rebuilds the envelope from the recorded event; anything that is not one of ours is reported, not guessed. */
export const storedEventOf = (
  resolved: ResolvedEvent | AllStreamResolvedEvent
): Effect.Effect<StoredEvent, StoreUnavailable> => {
  const recorded = resolved.event
  if (recorded === undefined) return Effect.fail(new StoreUnavailable({ message: "KurrentDB returned a read result without an event" }))
  const where = `event ${recorded.id} at ${recorded.streamId}@${recorded.revision}`
  const commit = recorded.position?.commit ?? resolved.commitPosition
  const prepare = recorded.position?.prepare ?? commit
  if (commit === undefined || prepare === undefined) {
    return Effect.fail(new StoreUnavailable({ message: `KurrentDB returned ${where} without its log position` }))
  }
  if (!recorded.isJson) return Effect.fail(new StoreUnavailable({ message: `KurrentDB ${where} is not JSON: not an Umbra event` }))
  return decodeMetadata(recorded.metadata).pipe(
    Effect.mapError(() => new StoreUnavailable({ message: `KurrentDB ${where} has no Umbra envelope metadata` })),
    Effect.map((metadata) => ({
      id: recorded.id,
      type: recorded.type,
      stream: recorded.streamId,
      revision: Number(recorded.revision),
      position: kurrentPosition(commit, prepare),
      ...metadata,
      data: recorded.data
    }))
  )
}

/**
 * Snapshots live in a stream of their own per stream, as events of a `$` type, so that the server's
 * system-event filter keeps them out of `$all` reads and subscriptions as it keeps out its own.
 */
export const snapshotType = "$umbra-snapshot"
export const snapshotStreamOf = (stream: string) => `snapshot-${stream}`

/** `$`-prefixed streams and types are the server's own (metadata, scavenges, projections, links) or snapshots. */
export const isSystemEvent = (resolved: ResolvedEvent | AllStreamResolvedEvent): boolean =>
  resolved.event === undefined || resolved.event.type.startsWith("$") || resolved.event.streamId.startsWith("$")
