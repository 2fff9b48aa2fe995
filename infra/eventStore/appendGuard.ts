import { Effect } from "effect"
import type { NewEvent } from "../../domain/envelope.ts"
import { ValidationFailed } from "../../domain/errors.ts"
import { uuidPattern } from "../../domain/ids.ts"
import type { Snapshot } from "../../src/eventStore/eventStore.ts"

/** The largest serialized `data` of one event; JetStream's max_payload in nats.conf leaves room for it. */
export const maxEventBytes = 2 * 1024 * 1024

const streamPattern = /^[^$\s][^\s]{0,254}$/
const typePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/

/** An event checked for the store, with its data serialized once for the adapter to write. */
export interface PreparedEvent {
  readonly event: NewEvent
  readonly data: string
}

const invalid = (message: string, details: Record<string, unknown>) => new ValidationFailed({ message, details })

const isJson = (value: unknown, depth: number): boolean => {
  if (depth > 128) return false
  if (value === null || typeof value === "string" || typeof value === "boolean") return true
  if (typeof value === "number") return Number.isFinite(value)
  if (Array.isArray(value)) return value.every((item) => isJson(item, depth + 1))
  if (typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return false
  return Object.values(value).every((item) => isJson(item, depth + 1))
}

export const checkStreamName = (stream: string): Effect.Effect<string, ValidationFailed> =>
  streamPattern.test(stream)
    ? Effect.succeed(stream)
    : Effect.fail(invalid("a stream name is 1 to 255 characters, no spaces, not starting with '$'", { stream }))

const checkEvent = (event: NewEvent): ValidationFailed | PreparedEvent => {
  if (!uuidPattern.test(event.id)) return invalid("an event id is a lower-case UUID", { id: event.id })
  if (!typePattern.test(event.type)) return invalid("an event type is a name of letters and digits", { type: event.type })
  if (Number.isNaN(Date.parse(event.at))) return invalid("an event's 'at' is an ISO-8601 time", { id: event.id, at: event.at })
  if (!Number.isInteger(event.schemaVersion) || event.schemaVersion < 1) {
    return invalid("an event's schemaVersion is a positive integer", { id: event.id, schemaVersion: event.schemaVersion })
  }
  if (!isJson(event.data, 0)) return invalid("event data must be plain JSON", { id: event.id, type: event.type })
  const data = JSON.stringify(event.data)
  const bytes = Buffer.byteLength(data)
  if (bytes > maxEventBytes) {
    return invalid(`event data is ${bytes} bytes, over the limit of ${maxEventBytes}`, { id: event.id, bytes, maxEventBytes })
  }
  return { event, data }
}

const checkAppend = (stream: string, events: ReadonlyArray<NewEvent>): ValidationFailed | ReadonlyArray<PreparedEvent> => {
  if (!streamPattern.test(stream)) return invalid("a stream name is 1 to 255 characters, no spaces, not starting with '$'", { stream })
  if (events.length === 0) return invalid("an append needs at least one event", { stream })
  const ids = new Set<string>()
  const prepared: Array<PreparedEvent> = []
  for (const event of events) {
    const checked = checkEvent(event)
    if (checked instanceof ValidationFailed) return checked
    if (ids.has(event.id)) return invalid("an event id appears twice in one append", { stream, id: event.id })
    ids.add(event.id)
    prepared.push(checked)
  }
  return prepared
}

/**
 * Checks one append call before any adapter touches its store: a bad call stores nothing. Plain code
 * inside one Effect, since it runs on every append.
 */
export const prepareAppend = (
  stream: string,
  events: ReadonlyArray<NewEvent>
): Effect.Effect<ReadonlyArray<PreparedEvent>, ValidationFailed> =>
  Effect.suspend(() => {
    const checked = checkAppend(stream, events)
    return checked instanceof ValidationFailed ? Effect.fail(checked) : Effect.succeed(checked)
  })

/** A snapshot the store can keep: a valid stream, revision and version, and plain JSON within the event limit. */
export const checkSnapshot = (stream: string, snapshot: Snapshot): Effect.Effect<string, ValidationFailed> =>
  Effect.suspend(() => {
    if (!streamPattern.test(stream)) return Effect.fail(invalid("a stream name is 1 to 255 characters, no spaces, not starting with '$'", { stream }))
    if (!Number.isInteger(snapshot.revision) || snapshot.revision < 0 || !Number.isInteger(snapshot.version) || snapshot.version < 1) {
      return Effect.fail(invalid("a snapshot has a revision from 0 and a version from 1", { stream, revision: snapshot.revision, version: snapshot.version }))
    }
    if (!isJson(snapshot.state, 0)) return Effect.fail(invalid("a snapshot's state must be plain JSON", { stream }))
    const state = JSON.stringify(snapshot.state)
    const bytes = Buffer.byteLength(state)
    if (bytes > maxEventBytes) return Effect.fail(invalid(`a snapshot is ${bytes} bytes, over the limit of ${maxEventBytes}`, { stream, bytes }))
    return Effect.succeed(state)
  })
