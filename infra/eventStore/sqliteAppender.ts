import type { DatabaseSync } from "node:sqlite"
import type { ExpectedRevision } from "../../src/eventStore/eventStore.ts"
import { positionFrom } from "../../src/eventStore/position.ts"
import { planAppend } from "./appendRules.ts"

/** One event as the appender writes it: the columns of a row, `data` already serialized. */
export type EventRow = readonly [
  id: string,
  type: string,
  data: string,
  at: string,
  tenant: string,
  correlationId: string,
  causationId: string,
  schemaVersion: number
]

export interface AppendRequest {
  readonly stream: string
  readonly expected: ExpectedRevision
  readonly rows: ReadonlyArray<EventRow>
}

/**
 * What became of one append, as plain data (it crosses a thread): written or found already written, or the
 * error's tag and fields. Positions are the rowids.
 */
export type AppendOutcome =
  | { readonly _tag: "Appended"; readonly revision: number; readonly position: number; readonly appended: boolean }
  | { readonly _tag: "ConcurrencyConflict"; readonly stream: string; readonly expected: ExpectedRevision; readonly actual: number | "no_stream" }
  | { readonly _tag: "DuplicateEventId"; readonly eventId: string; readonly stream: string; readonly storedIn: string }
  | { readonly _tag: "StoreUnavailable"; readonly message: string }

const sqliteConstraintUnique = 2067

const isUniqueViolation = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && (cause as { errcode?: unknown }).errcode === sqliteConstraintUnique

export const unavailableOutcome = (action: string, cause: unknown): AppendOutcome => ({
  _tag: "StoreUnavailable",
  message: `SQLite ${action} failed: ${cause instanceof Error ? cause.message : String(cause)}`
})

/**
 * Group commit on one connection: every append of a group in one IMMEDIATE transaction, each behind a
 * savepoint so that its failure undoes only its own rows; one commit (one fsync at `synchronous = FULL`)
 * serves them all. When the commit fails, every append of the group fails and none is stored.
 */
export const makeAppender = (db: DatabaseSync) => {
  const sql = {
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    savepoint: db.prepare("SAVEPOINT append"),
    release: db.prepare("RELEASE append"),
    rollbackTo: db.prepare("ROLLBACK TO append"),
    streamRevision: db.prepare(
      "SELECT max(coalesce((SELECT MAX(revision) FROM events WHERE stream = ?1), -1)," +
        " coalesce((SELECT revision FROM scavenged_streams WHERE stream = ?1), -1)) AS revision"
    ),
    insert: db.prepare(
      "INSERT INTO events (id, stream, revision, type, data, at, tenant, correlation_id, causation_id, schema_version)" +
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    locate: db.prepare("SELECT stream, revision, position FROM events WHERE id = ?")
  }

  const currentRevision = (stream: string): number => sql.streamRevision.get(stream)!["revision"] as number

  const located = (id: string) => {
    const row = sql.locate.get(id)
    return row === undefined
      ? undefined
      : { stream: row["stream"] as string, revision: row["revision"] as number, position: positionFrom(row["position"] as number) }
  }

  const insertAll = (stream: string, from: number, rows: ReadonlyArray<EventRow>): AppendOutcome => {
    let revision = from
    let position = 0
    for (const [id, type, data, at, tenant, correlationId, causationId, schemaVersion] of rows) {
      revision++
      position = sql.insert.run(id, stream, revision, type, data, at, tenant, correlationId, causationId, schemaVersion)
        .lastInsertRowid as number
    }
    return { _tag: "Appended", revision, position, appended: true }
  }

  /**
   * One append inside the open transaction. The hot path assumes the ids are new and lets the unique index
   * say otherwise; only on a revision mismatch, or after that index refused a row, are the ids looked up to
   * tell a replay (answered as the first append was) from a duplicate.
   */
  const appendWithin = (request: AppendRequest, lookUpIds: boolean): AppendOutcome => {
    const { stream, expected, rows } = request
    sql.savepoint.run()
    try {
      const current = currentRevision(stream)
      const assumingNewIds = planAppend(stream, expected, current, [], () => undefined)
      const plan = lookUpIds || assumingNewIds._tag !== "Write"
        ? planAppend(stream, expected, current, rows.map((row) => row[0]), located)
        : assumingNewIds
      const outcome: AppendOutcome = plan._tag === "Write"
        ? insertAll(stream, current, rows)
        : plan._tag === "Replay"
          ? { _tag: "Appended", revision: plan.result.revision, position: Number(plan.result.position), appended: false }
          : plan._tag === "ConcurrencyConflict"
            ? { _tag: plan._tag, stream: plan.stream, expected: plan.expected, actual: plan.actual }
            : { _tag: plan._tag, eventId: plan.eventId, stream: plan.stream, storedIn: plan.storedIn }
      sql.release.run()
      return outcome
    } catch (cause) {
      sql.rollbackTo.run()
      sql.release.run()
      if (!lookUpIds && isUniqueViolation(cause)) return appendWithin(request, true)
      return unavailableOutcome("append", cause)
    }
  }

  return (group: ReadonlyArray<AppendRequest>): ReadonlyArray<AppendOutcome> => {
    try {
      sql.begin.run()
      const outcomes = group.map((request) => appendWithin(request, false))
      sql.commit.run()
      return outcomes
    } catch (cause) {
      if (db.isTransaction) sql.rollback.run()
      const failed = unavailableOutcome("append", cause)
      return group.map(() => failed)
    }
  }
}
