import {
  type AllStreamResolvedEvent,
  type AppendStreamState,
  BACKWARDS,
  END,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  type JSONType,
  KurrentDBClient,
  type ResolvedEvent,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError
} from "@kurrent/kurrentdb-client"
import { Effect, Layer, Schedule, Stream } from "effect"
import type { Position, StoredEvent } from "../../domain/envelope.ts"
import { ValidationFailed } from "../../domain/errors.ts"
import { ConcurrencyConflict, StoreUnavailable } from "../../src/eventStore/errors.ts"
import { redactCredentials, withRedactedWarnings } from "../logging/redactCredentials.ts"
import {
  type AppendResult,
  EventStore,
  type EventStoreShape,
  type ExpectedRevision,
  type Snapshot
} from "../../src/eventStore/eventStore.ts"
import { checkSnapshot, checkStreamName, type PreparedEvent, prepareAppend } from "./appendGuard.ts"
import { isSystemEvent, snapshotStreamOf, snapshotType, storedEventOf, toJsonEvent } from "./kurrentEvents.ts"
import { kurrentPosition, kurrentStart, toKurrentPosition } from "./kurrentPosition.ts"
import { scavengeCompletedType, scavengeStream, startScavenge } from "./kurrentScavenge.ts"

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Every client call: a rejection that is not part of the port's contract means the store is not there. */
const call = <A>(operation: string, run: () => Promise<A>): Effect.Effect<A, StoreUnavailable> =>
  Effect.tryPromise({
    try: run,
    catch: (error) => new StoreUnavailable({ message: `KurrentDB ${operation} failed: ${messageOf(error)}` })
  })

const collect = <E extends ResolvedEvent | AllStreamResolvedEvent>(operation: string, read: () => AsyncIterable<E>) =>
  call(operation, async () => {
    const events: Array<E> = []
    try {
      for await (const event of read()) events.push(event)
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error
    }
    return events
  })

const toStored = (events: ReadonlyArray<ResolvedEvent | AllStreamResolvedEvent>) =>
  Effect.forEach(events.filter((event) => !isSystemEvent(event)), storedEventOf)

const streamStateOf = (expected: ExpectedRevision): AppendStreamState =>
  typeof expected === "number" ? BigInt(expected) : expected

const invalid = (message: string, details: Record<string, unknown>) => new ValidationFailed({ message, details })

const checkCount = (name: string, value: number | undefined, min: number) =>
  value === undefined || (Number.isSafeInteger(value) && value >= min)
    ? Effect.void
    : Effect.fail(invalid(`${name} is an integer of at least ${min}`, { [name]: value }))

const fromPosition = (after: Position | undefined) =>
  after === undefined || after === kurrentStart ? START : toKurrentPosition(after)

const make = (client: KurrentDBClient): EventStoreShape => {
  const readStreamFrom = (stream: string, from: number, count: number) =>
    collect("readStream", () => client.readStream(stream, { fromRevision: BigInt(from), maxCount: count, direction: FORWARDS })).pipe(
      Effect.flatMap(toStored)
    )

  /**
   * The port's idempotency: the same ids already stored at `first`, in order, are the first call's outcome.
   * A real server answers such a retry with success itself; the stand-in reports a conflict, and `any` never
   * conflicts, so the adapter checks the place before giving either answer.
   */
  const storedAt = (stream: string, first: number, prepared: ReadonlyArray<PreparedEvent>) =>
    readStreamFrom(stream, first, prepared.length).pipe(
      Effect.map((stored): AppendResult | undefined => {
        const last = stored.at(-1)
        const same = stored.length === prepared.length && stored.every((e, i) => e.id === prepared[i]!.event.id)
        return same && last !== undefined ? { revision: last.revision, position: last.position, appended: false } : undefined
      })
    )

  const tail = (stream: string, count: number) =>
    collect("readStream", () => client.readStream(stream, { fromRevision: END, maxCount: count, direction: BACKWARDS })).pipe(
      Effect.flatMap(toStored),
      Effect.map((events) => events.reverse())
    )

  const append: EventStoreShape["append"] = Effect.fn("KurrentEventStore.append")(function* (stream, expected, events) {
    const prepared = yield* prepareAppend(stream, events)
    if (expected === "any") {
      const last = yield* tail(stream, prepared.length)
      const first = last[0]
      if (first !== undefined) {
        const repeated = yield* storedAt(stream, first.revision, prepared)
        if (repeated !== undefined) return repeated
      }
    }
    const outcome = yield* call("append", async () => {
      try {
        return await client.appendToStream(stream, prepared.map(toJsonEvent), { streamState: streamStateOf(expected) })
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) return error
        throw error
      }
    })
    if (outcome instanceof WrongExpectedVersionError) {
      const first = expected === "no_stream" ? 0 : typeof expected === "number" ? expected + 1 : undefined
      const repeated = first === undefined ? undefined : yield* storedAt(stream, first, prepared)
      if (repeated !== undefined) return repeated
      const actual = outcome.actualState
      return yield* new ConcurrencyConflict({
        stream,
        expected,
        actual: typeof actual === "bigint" ? Number(actual) : "no_stream"
      })
    }
    const revision = Number(outcome.nextExpectedRevision)
    // A real server answers an idempotent retry with success but no position: read the original back.
    if (outcome.position === undefined) {
      const repeated = yield* storedAt(stream, revision - prepared.length + 1, prepared)
      if (repeated !== undefined) return repeated
      return yield* new StoreUnavailable({ message: `KurrentDB append to ${stream} succeeded without a position` })
    }
    return { revision, position: kurrentPosition(outcome.position.commit, outcome.position.prepare), appended: true }
  })

  const readStream: EventStoreShape["readStream"] = Effect.fn("KurrentEventStore.readStream")(function* (stream, options = {}) {
    yield* checkStreamName(stream)
    yield* checkCount("from", options.from, 0)
    yield* checkCount("limit", options.limit, 0)
    if (options.limit === 0) return []
    const backwards = options.direction === "backwards"
    const events = yield* collect("readStream", () =>
      client.readStream(stream, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.from === undefined ? (backwards ? END : START) : BigInt(options.from),
        maxCount: options.limit ?? Number.MAX_SAFE_INTEGER
      })
    )
    return yield* toStored(events)
  })

  const readAll: EventStoreShape["readAll"] = Effect.fn("KurrentEventStore.readAll")(function* (options = {}) {
    const after = options.after ?? kurrentStart
    if (options.limit !== undefined && options.limit <= 0) return []
    // A forward read of $all includes the event at its position; the port's `after` excludes it.
    const events = yield* collect("readAll", () =>
      client.readAll({
        fromPosition: fromPosition(after),
        direction: FORWARDS,
        filter: excludeSystemEvents(),
        maxCount: options.limit === undefined ? Number.MAX_SAFE_INTEGER : options.limit + 1
      })
    )
    const stored = yield* toStored(events)
    const later = stored.filter((event) => event.position > after)
    return options.limit === undefined ? later : later.slice(0, options.limit)
  })

  /**
   * KurrentDB keeps no list of streams that a client may read without system projections (`$streams` needs
   * them running, and link resolution): a scan of `$all`, keeping each stream's newest revision, works on
   * any server. It costs a read of the whole log, as `umbra streams ls` may.
   */
  const listStreams: EventStoreShape["listStreams"] = Effect.fn("KurrentEventStore.listStreams")(function* (options = {}) {
    const prefix = options.prefix ?? ""
    const after = options.after
    const newest = yield* call("readAll", async () => {
      const revisions = new Map<string, number>()
      for await (const resolved of client.readAll({ fromPosition: START, direction: FORWARDS, filter: excludeSystemEvents() })) {
        const recorded = resolved.event
        if (recorded === undefined || isSystemEvent(resolved) || !recorded.streamId.startsWith(prefix)) continue
        if (after !== undefined && recorded.streamId <= after) continue
        revisions.set(recorded.streamId, Math.max(revisions.get(recorded.streamId) ?? -1, Number(recorded.revision)))
      }
      return revisions
    })
    return [...newest]
      .map(([stream, revision]) => ({ stream, revision }))
      .sort((a, b) => (a.stream < b.stream ? -1 : 1))
      .slice(0, options.limit ?? Number.MAX_SAFE_INTEGER)
  })

  const subscribe: EventStoreShape["subscribe"] = (options = {}) => {
    const after = options.after ?? kurrentStart
    return Stream.unwrap(
      Effect.acquireRelease(
        Effect.sync(() => client.subscribeToAll({ fromPosition: fromPosition(options.after), filter: excludeSystemEvents() })),
        (subscription) => call("unsubscribe", () => subscription.unsubscribe()).pipe(Effect.ignore)
      ).pipe(
        Effect.map((subscription) =>
          Stream.fromAsyncIterable(
            subscription,
            (error) => new StoreUnavailable({ message: `KurrentDB subscription failed: ${messageOf(error)}` })
          )
        )
      )
    ).pipe(
      Stream.filter((event) => !isSystemEvent(event)),
      Stream.mapEffect(storedEventOf),
      Stream.filter((event: StoredEvent) => event.position > after)
    )
  }

  const setStreamMetadata: EventStoreShape["setStreamMetadata"] = Effect.fn("KurrentEventStore.setStreamMetadata")(
    function* (stream, metadata) {
      yield* checkStreamName(stream)
      yield* checkCount("maxAge", metadata.maxAge, 1)
      yield* checkCount("maxCount", metadata.maxCount, 1)
      yield* call("setStreamMetadata", () => client.setStreamMetadata(stream, { ...metadataOnly(metadata) }))
    }
  )

  const getStreamMetadata: EventStoreShape["getStreamMetadata"] = Effect.fn("KurrentEventStore.getStreamMetadata")(
    function* (stream) {
      yield* checkStreamName(stream)
      const result = yield* call("getStreamMetadata", async () => {
        try {
          return (await client.getStreamMetadata(stream)).metadata
        } catch (error) {
          if (error instanceof StreamNotFoundError) return undefined
          throw error
        }
      })
      return metadataOnly(result ?? {})
    }
  )

  const headPosition: EventStoreShape["headPosition"] = Effect.fn("KurrentEventStore.headPosition")(function* () {
    const events = yield* collect("readAll", () =>
      client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1, filter: excludeSystemEvents() })
    )
    return (yield* toStored(events))[0]?.position
  })

  /** Events of ours in the log up to `head`: what a scavenge removed is the difference. A full scan, as scavenges are. */
  const countUpTo = (head: Position | undefined) =>
    head === undefined
      ? Effect.succeed(0)
      : collect("readAll", () => client.readAll({ fromPosition: START, filter: excludeSystemEvents() })).pipe(
          Effect.map((events) => events.filter((e) => !isSystemEvent(e) && kurrentPosition(e.event?.position?.commit ?? 0n, e.event?.position?.prepare ?? 0n) <= head).length)
        )

  /** A scavenge runs in the background on the server; it records itself in its own stream when it is over. */
  const scavengeDone = (scavengeId: string) =>
    collect("readStream", () => client.readStream(scavengeStream(scavengeId))).pipe(
      Effect.flatMap((events) => {
        const completed = events.find((e) => e.event?.type === scavengeCompletedType)?.event
        if (completed === undefined) return Effect.succeed(false)
        const result = (completed.data as { readonly result?: unknown } | undefined)?.result
        return result === "Success"
          ? Effect.succeed(true)
          : Effect.fail(new StoreUnavailable({ message: `KurrentDB scavenge ${scavengeId} ended with ${String(result)}` }))
      })
    )

  const scavenge: EventStoreShape["scavenge"] = Effect.fn("KurrentEventStore.scavenge")(function* () {
    const head = yield* headPosition()
    const before = yield* countUpTo(head)
    const scavengeId = yield* call("scavenge", () => startScavenge(client))
    yield* scavengeDone(scavengeId).pipe(Effect.repeat({ until: (done) => done, schedule: Schedule.spaced("200 millis") }))
    return { removed: before - (yield* countUpTo(head)) }
  })

  const readSnapshot: EventStoreShape["readSnapshot"] = Effect.fn("KurrentEventStore.readSnapshot")(function* (stream) {
    yield* checkStreamName(stream)
    const events = yield* collect("readStream", () =>
      client.readStream(snapshotStreamOf(stream), { direction: BACKWARDS, fromRevision: END, maxCount: 1 })
    )
    const data = events[0]?.event?.data as Snapshot | undefined
    return data === undefined ? undefined : { revision: data.revision, version: data.version, state: data.state }
  })

  const writeSnapshot: EventStoreShape["writeSnapshot"] = Effect.fn("KurrentEventStore.writeSnapshot")(function* (stream, snapshot) {
    yield* checkSnapshot(stream, snapshot)
    const kept = yield* readSnapshot(stream)
    if (kept !== undefined && kept.revision >= snapshot.revision) return
    const snapshots = snapshotStreamOf(stream)
    yield* call("appendToStream", () =>
      client.appendToStream(snapshots, jsonEvent({ type: snapshotType, data: { ...snapshot } as JSONType }), { streamState: "any" })
    )
    // Only the newest is ever read: the server may drop the others.
    if (kept === undefined) yield* call("setStreamMetadata", () => client.setStreamMetadata(snapshots, { maxCount: 1 }))
  })

  return EventStore.of({
    append,
    readStream,
    readAll,
    listStreams,
    subscribe,
    setStreamMetadata,
    getStreamMetadata,
    readSnapshot,
    writeSnapshot,
    scavenge,
    headPosition
  })
}

/** The part of KurrentDB's stream metadata the port speaks about; writing it replaces the whole metadata. */
const metadataOnly = (metadata: {
  readonly maxAge?: number | undefined
  readonly maxCount?: number | undefined
}): { maxAge?: number; maxCount?: number } => ({
  ...(metadata.maxAge === undefined ? {} : { maxAge: metadata.maxAge }),
  ...(metadata.maxCount === undefined ? {} : { maxCount: metadata.maxCount })
})

/**
 * The EventStore over a KurrentDB node, e.g. `kurrentdb://admin:changeit@127.0.0.1:2113?tls=false`. The layer
 * reads the head of `$all` once, so an unreachable server fails the layer instead of the first command.
 */
export const layer = (connectionString: string): Layer.Layer<EventStore, StoreUnavailable> =>
  Layer.effect(
    EventStore,
    Effect.gen(function* () {
      const client = yield* Effect.acquireRelease(
        Effect.try({
          // The client warns of an unknown option, and fails on a bad one, quoting the whole string: password included.
          try: () => withRedactedWarnings(() => KurrentDBClient.connectionString(connectionString)),
          catch: (error) => new StoreUnavailable({ message: redactCredentials(`KurrentDB connection string rejected: ${messageOf(error)}`) })
        }),
        (client) => call("dispose", () => client.dispose()).pipe(Effect.ignore)
      )
      const store = make(client)
      yield* store.headPosition()
      return store
    })
  )
