import { Clock, Deferred, Duration, Effect, Layer } from "effect"
import type { DatabaseSync, SQLInputValue, SQLOutputValue } from "node:sqlite"
import type { Position, StoredEvent } from "../../domain/envelope.ts"
import type { ValidationFailed } from "../../domain/errors.ts"
import { ConcurrencyConflict, DuplicateEventId, StoreUnavailable } from "../../src/eventStore/errors.ts"
import {
  EventStore,
  type AppendError,
  type AppendResult,
  type StreamMetadata,
  type StreamSummary
} from "../../src/eventStore/eventStore.ts"
import { positionFrom } from "../../src/eventStore/position.ts"
import { checkSnapshot, checkStreamName, prepareAppend, type PreparedEvent } from "./appendGuard.ts"
import type { AppendOutcome, AppendRequest, EventRow } from "./sqliteAppender.ts"
import { threadWriter } from "./sqliteWriter.ts"
import { followLog } from "./followLog.ts"
import { sharedPage } from "./sharedPage.ts"
import { firstVisibleRevision } from "./retention.ts"
import { eventColumns, openEventDatabase } from "./sqliteSchema.ts"

export interface SqliteEventStoreOptions {
  readonly file: string
  /** How soon a subscriber sees events appended by another process; this process's appends wake it at once. */
  readonly pollInterval?: Duration.Input
  /** How long a write waits for another connection's transaction before it fails with StoreUnavailable. */
  readonly busyTimeoutMillis?: number
  /**
   * Starts the writer thread with the store instead of at the first append: for a process that serves
   * commands, whose first one would otherwise wait for the thread to load (about half a second).
   */
  readonly startWriter?: boolean
}

// Rows per synchronous read: DatabaseSync blocks the event loop, so long reads go a page at a time.
const pageSize = 512

// Appends committed in one transaction at the most: a burst is written in several, none of them long.
const maxGroup = 512

type Row = ReadonlyArray<SQLOutputValue>

interface PendingAppend {
  readonly request: AppendRequest
  readonly resume: (outcome: Effect.Effect<AppendResult, AppendError>) => void
}

const toRow = ({ event, data }: PreparedEvent): EventRow => [
  event.id,
  event.type,
  data,
  event.at,
  event.tenant,
  event.correlationId,
  event.causationId,
  event.schemaVersion
]

const toAppendResult = (outcome: AppendOutcome): AppendResult | Exclude<AppendError, ValidationFailed> => {
  switch (outcome._tag) {
    case "Appended":
      return { revision: outcome.revision, position: positionFrom(outcome.position), appended: outcome.appended }
    case "ConcurrencyConflict":
      return new ConcurrencyConflict({ stream: outcome.stream, expected: outcome.expected, actual: outcome.actual })
    case "DuplicateEventId":
      return new DuplicateEventId({ eventId: outcome.eventId, stream: outcome.stream, storedIn: outcome.storedIn })
    case "StoreUnavailable":
      return new StoreUnavailable({ message: outcome.message })
  }
}

interface RowStatement {
  get(...params: Array<SQLInputValue>): Row | undefined
  all(...params: Array<SQLInputValue>): Array<Row>
}

/** Decodes a row selected with `eventColumns`. */
const toStoredEvent = (row: Row): StoredEvent => ({
  id: row[1] as string,
  type: row[4] as string,
  stream: row[2] as string,
  revision: row[3] as number,
  position: positionFrom(row[0] as number),
  at: row[6] as string,
  tenant: row[7] as string,
  correlationId: row[8] as string,
  causationId: row[9] as string,
  schemaVersion: row[10] as number,
  data: JSON.parse(row[5] as string)
})

const toStoredEvents = (rows: ReadonlyArray<Row>): Array<StoredEvent> => {
  const events = new Array<StoredEvent>(rows.length)
  for (let i = 0; i < rows.length; i++) events[i] = toStoredEvent(rows[i]!)
  return events
}

const unavailable = (action: string, cause: unknown) =>
  new StoreUnavailable({ message: `SQLite ${action} failed: ${cause instanceof Error ? cause.message : String(cause)}` })

const attempt = <A>(action: string, run: () => A): Effect.Effect<A, StoreUnavailable> =>
  Effect.try({ try: run, catch: (cause) => unavailable(action, cause) })

const prepareStatements = (db: DatabaseSync) => {
  const rows = (sql: string): RowStatement => {
    const statement = db.prepare(sql)
    statement.setReturnArrays(true)
    // @types/node does not model setReturnArrays: these statements return rows as arrays.
    return statement as unknown as RowStatement
  }
  return {
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    streamRevision: rows(
      "SELECT max(coalesce((SELECT MAX(revision) FROM events WHERE stream = ?1), -1)," +
        " coalesce((SELECT revision FROM scavenged_streams WHERE stream = ?1), -1))"
    ),
    keepRevision: db.prepare(
      "INSERT INTO scavenged_streams (stream, revision) VALUES (?, ?)" +
        " ON CONFLICT (stream) DO UPDATE SET revision = max(revision, excluded.revision)"
    ),
    readAfter: rows(`SELECT ${eventColumns} FROM events WHERE position > ? ORDER BY position LIMIT ?`),
    readForwards: rows(
      `SELECT ${eventColumns} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?`
    ),
    readBackwards: rows(
      `SELECT ${eventColumns} FROM events WHERE stream = ? AND revision <= ? AND revision >= ? ORDER BY revision DESC LIMIT ?`
    ),
    lowestRevision: rows("SELECT MIN(revision) FROM events WHERE stream = ?"),
    atOfRevision: rows("SELECT at FROM events WHERE stream = ? AND revision = ?"),
    getMetadata: rows("SELECT max_age, max_count FROM stream_metadata WHERE stream = ?"),
    setMetadata: db.prepare(
      "INSERT INTO stream_metadata (stream, max_age, max_count) VALUES (?, ?, ?)" +
        " ON CONFLICT (stream) DO UPDATE SET max_age = excluded.max_age, max_count = excluded.max_count"
    ),
    streamsWithMetadata: rows(
      "SELECT stream, max_age, max_count FROM stream_metadata WHERE stream > ? ORDER BY stream LIMIT ?"
    ),
    getSnapshot: rows("SELECT revision, version, state FROM snapshots WHERE stream = ?"),
    setSnapshot: db.prepare(
      "INSERT INTO snapshots (stream, revision, version, state) VALUES (?, ?, ?, ?)" +
        " ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision, version = excluded.version, state = excluded.state" +
        " WHERE excluded.revision > snapshots.revision"
    ),
    deleteBefore: db.prepare("DELETE FROM events WHERE stream = ? AND revision < ?"),
    head: rows("SELECT MAX(position) FROM events"),
    // The (stream, revision) index answers this without touching the events themselves.
    listStreams: rows(
      "SELECT stream, MAX(revision) FROM events WHERE stream > ? AND stream >= ? AND stream < ? GROUP BY stream ORDER BY stream LIMIT ?"
    )
  }
}

const metadataOf = (row: Row | undefined): StreamMetadata => {
  const [maxAge, maxCount] = row ?? []
  return {
    ...(typeof maxAge === "number" ? { maxAge } : {}),
    ...(typeof maxCount === "number" ? { maxCount } : {})
  }
}

const make = Effect.fnUntraced(function* (options: SqliteEventStoreOptions) {
  const busyTimeoutMillis = options.busyTimeoutMillis ?? 5_000
  const db = yield* Effect.acquireRelease(
    attempt("open", () => openEventDatabase(options.file, busyTimeoutMillis)),
    (db) => Effect.sync(() => db.close())
  )
  const sql = yield* attempt("prepare", () => prepareStatements(db))
  const writer = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const writer = threadWriter({ file: options.file, busyTimeoutMillis })
      if (options.startWriter === true) writer.prepare()
      return writer
    }),
    (writer) => Effect.promise(writer.close)
  )
  const pollInterval = options.pollInterval ?? Duration.millis(25)

  // Wakes this process's waiting subscribers (made only when one waits); other processes' find the event on
  // their next poll.
  let appended: Deferred.Deferred<void> | undefined
  let lastCommitted: Position | undefined

  const committedAfter = (after: Position | undefined) => lastCommitted !== undefined && (after === undefined || lastCommitted > after)

  /** The stream's revision, -1 when it has none. */
  const currentRevision = (stream: string): number => sql.streamRevision.get(stream)![0] as number

  /**
   * Group commit: the appends requested while a group is being written (or during one turn of the event
   * loop) make up the next group, written by the writer thread in one transaction. Nobody hears of an
   * append before the transaction that holds it has committed.
   */
  const queued: Array<PendingAppend> = []
  let busy = false
  const writeQueued = () => {
    if (queued.length === 0) {
      busy = false
      return
    }
    busy = true
    const group = queued.length > maxGroup ? queued.splice(0, maxGroup) : queued.splice(0)
    void writer.write(group.map((pending) => pending.request)).then((outcomes) => {
      let newest: Position | undefined
      group.forEach((pending, i) => {
        const outcome = toAppendResult(outcomes[i]!)
        if ("_tag" in outcome) return pending.resume(Effect.fail(outcome))
        if (outcome.appended) newest = outcome.position
        pending.resume(Effect.succeed(outcome))
      })
      if (newest !== undefined) {
        lastCommitted = newest
        if (appended !== undefined) Deferred.doneUnsafe(appended, Effect.void)
        appended = undefined
      }
      writeQueued()
    })
  }

  /** The lowest revision a read may return (retention applied); undefined when a stream with retention has no events. */
  const firstVisible = (stream: string, nowMs: number): number | undefined => {
    const metadata = metadataOf(sql.getMetadata.get(stream))
    // Without retention every stored event shows: a read from 0 finds the first (one query less per read).
    if (metadata.maxAge === undefined && metadata.maxCount === undefined) return 0
    const lowest = sql.lowestRevision.get(stream)![0] as number | null
    if (lowest === null) return undefined
    return firstVisibleRevision(metadata, { firstStored: lowest, lastRevision: currentRevision(stream) }, nowMs, (r) => {
      const row = sql.atOfRevision.get(stream, r)
      return row?.[0] as string | undefined
    })
  }

  /** Reads up to `limit` rows a page at a time, yielding between pages. */
  const readPaged = <C, A = StoredEvent>(
    start: C,
    limit: number,
    page: (cursor: C, size: number) => ReadonlyArray<Row>,
    next: (last: Row) => C,
    decode: (row: Row) => A = toStoredEvent as (row: Row) => A
  ) =>
    Effect.gen(function* () {
      const events: Array<A> = []
      let cursor = start
      while (events.length < limit) {
        const size = Math.min(pageSize, limit - events.length)
        const rows = yield* attempt("read", () => page(cursor, size))
        for (const row of rows) events.push(decode(row))
        if (rows.length < size) break
        cursor = next(rows[rows.length - 1]!)
        yield* Effect.yieldNow
      }
      return events
    })

  const readAfter = sharedPage((after, limit) => toStoredEvents(sql.readAfter.all(after, limit)), () => lastCommitted)

  const scavengeStream = (stream: string, nowMs: number): number => {
    sql.begin.run()
    try {
      const revision = currentRevision(stream)
      const first = firstVisible(stream, nowMs)
      const removed = first === undefined ? 0 : Number(sql.deleteBefore.run(stream, first).changes)
      if (removed > 0) sql.keepRevision.run(stream, revision)
      sql.commit.run()
      return removed
    } catch (cause) {
      if (db.isTransaction) sql.rollback.run()
      throw cause
    }
  }

  return EventStore.of({
    append: (stream, expected, events) =>
      Effect.flatMap(prepareAppend(stream, events), (prepared) =>
        Effect.callback<AppendResult, AppendError>((resume) => {
          queued.push({ request: { stream, expected, rows: prepared.map(toRow) }, resume })
          if (!busy) {
            busy = true
            setImmediate(writeQueued)
          }
        })),

    readStream: Effect.fn("SqliteEventStore.readStream")(function* (stream, options = {}) {
      yield* checkStreamName(stream)
      const nowMs = yield* Clock.currentTimeMillis
      const first = yield* attempt("read", () => firstVisible(stream, nowMs))
      const limit = Math.max(0, options.limit ?? Number.MAX_SAFE_INTEGER)
      if (first === undefined) return []
      if (options.direction === "backwards") {
        return yield* readPaged(
          options.from ?? Number.MAX_SAFE_INTEGER,
          limit,
          (from, size) => sql.readBackwards.all(stream, from, first, size),
          (last) => (last[3] as number) - 1
        )
      }
      return yield* readPaged(
        Math.max(first, options.from ?? 0),
        limit,
        (from, size) => sql.readForwards.all(stream, from, size),
        (last) => (last[3] as number) + 1
      )
    }),

    readAll: (options = {}) =>
      readPaged(
        options.after === undefined ? 0 : Number(options.after),
        Math.max(0, options.limit ?? Number.MAX_SAFE_INTEGER),
        (after, size) => sql.readAfter.all(after, size),
        (last) => last[0] as number
      ),

    listStreams: (options = {}) => {
      const prefix = options.prefix ?? ""
      // Every name with the prefix sorts below the prefix followed by the highest code point.
      return readPaged(
        options.after ?? "",
        Math.max(0, options.limit ?? Number.MAX_SAFE_INTEGER),
        (after, size) => sql.listStreams.all(after, prefix, `${prefix}\u{10ffff}`, size),
        (last) => last[0] as string,
        (row): StreamSummary => ({ stream: row[0] as string, revision: row[1] as number })
      )
    },

    subscribe: (options = {}) =>
      followLog({
        after: options.after,
        pageSize,
        readPage: (after, limit) => attempt("read", () => readAfter(after === undefined ? 0 : Number(after), limit)),
        awaitNewer: (after) =>
          Effect.suspend(() =>
            committedAfter(after)
              ? Effect.void
              : Effect.race(
                // A commit the subscriber has already read (its rows are visible before the writer reports it)
                // is no news: waking on it cost every subscriber an empty read per commit.
                Effect.suspend(() => Deferred.await((appended ??= Deferred.makeUnsafe<void>()))).pipe(
                  Effect.repeat({ until: () => committedAfter(after) })
                ),
                Effect.sleep(pollInterval)
              )
          )
      }),

    setStreamMetadata: Effect.fn("SqliteEventStore.setStreamMetadata")(function* (stream, metadata) {
      yield* checkStreamName(stream)
      yield* attempt("write", () => sql.setMetadata.run(stream, metadata.maxAge ?? null, metadata.maxCount ?? null))
    }),

    getStreamMetadata: Effect.fn("SqliteEventStore.getStreamMetadata")(function* (stream) {
      yield* checkStreamName(stream)
      return yield* attempt("read", () => metadataOf(sql.getMetadata.get(stream)))
    }),

    readSnapshot: Effect.fn("SqliteEventStore.readSnapshot")(function* (stream) {
      yield* checkStreamName(stream)
      const row = yield* attempt("read", () => sql.getSnapshot.get(stream))
      return row === undefined ? undefined : { revision: row[0] as number, version: row[1] as number, state: JSON.parse(row[2] as string) }
    }),

    writeSnapshot: Effect.fn("SqliteEventStore.writeSnapshot")(function* (stream, snapshot) {
      const state = yield* checkSnapshot(stream, snapshot)
      yield* attempt("write", () => sql.setSnapshot.run(stream, snapshot.revision, snapshot.version, state))
    }),

    scavenge: Effect.fn("SqliteEventStore.scavenge")(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      let removed = 0
      let after = ""
      while (true) {
        const page = yield* attempt("read", () => sql.streamsWithMetadata.all(after, pageSize))
        for (const [stream] of page) removed += yield* attempt("scavenge", () => scavengeStream(stream as string, nowMs))
        if (page.length < pageSize) return { removed }
        after = page[page.length - 1]![0] as string
        yield* Effect.yieldNow
      }
    }),

    headPosition: () =>
      attempt("read", () => {
        const head = sql.head.get()![0]
        return typeof head === "number" ? positionFrom(head) : undefined
      })
  })
})

/** The SQLite event store on one file, which other processes may share; the file is closed with the layer. */
export const layer = (options: SqliteEventStoreOptions): Layer.Layer<EventStore, StoreUnavailable> =>
  Layer.effect(EventStore, make(options))

export const layerFile = (file: string): Layer.Layer<EventStore, StoreUnavailable> => layer({ file })
