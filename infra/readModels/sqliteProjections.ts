import { Effect, Layer } from "effect"
import type { Position } from "../../domain/envelope.ts"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"
import { type ProjectionChanges, ProjectionStore } from "../../src/projections/projectionStore.ts"
import { ensureProjectionRows } from "./projectionRowsTable.ts"
import { ReadModelDatabase } from "./readModelDatabase.ts"

const failed = (action: string) => (error: unknown) =>
  new StoreUnavailable({ message: `projection ${action} failed: ${error instanceof Error ? error.message : String(error)}` })

const byKey = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0)

/** The stored value of a row a batch wrote without reading it: unlike any value, so the row is written. */
const notRead = Symbol("not read")

/** Every projection's rows as JSON by key, and its version and checkpoint, in the read-model database. */
export const layer = Layer.effect(
  ProjectionStore,
  Effect.gen(function* () {
    const db = yield* ReadModelDatabase
    ensureProjectionRows(db)
    db.exec("CREATE TABLE IF NOT EXISTS projection_checkpoints (projection TEXT PRIMARY KEY, version INTEGER NOT NULL, position TEXT NOT NULL) WITHOUT ROWID")
    const sql = {
      checkpoint: db.prepare("SELECT version, position FROM projection_checkpoints WHERE projection = ?"),
      clear: db.prepare("DELETE FROM projection_rows WHERE projection = ?"),
      put: db.prepare("INSERT INTO projection_rows (projection, key, value) VALUES (?, ?, ?) ON CONFLICT (projection, key) DO UPDATE SET value = excluded.value"),
      remove: db.prepare("DELETE FROM projection_rows WHERE projection = ? AND key = ?"),
      row: db.prepare("SELECT value FROM projection_rows WHERE projection = ? AND key = ?"),
      forget: db.prepare("DELETE FROM projection_checkpoints WHERE projection = ?"),
      move: db.prepare(
        "INSERT INTO projection_checkpoints (projection, version, position) VALUES (?, ?, ?)" +
          " ON CONFLICT (projection) DO UPDATE SET version = excluded.version, position = excluded.position"
      ),
      rows: db.prepare("SELECT key, value FROM projection_rows WHERE projection = ? AND key >= ? AND key < ? ORDER BY key"),
      removeRange: db.prepare("DELETE FROM projection_rows WHERE projection = ? AND key >= ? AND key < ?")
    }

    /** A row as stored, parsed; undefined when there is none. */
    const storedRow = (projection: string, key: string): unknown => {
      const text = sql.row.get(projection, key)?.["value"]
      return text === undefined ? undefined : JSON.parse(text as string)
    }

    const inTransaction = <A>(run: () => A): A => {
      db.exec("BEGIN IMMEDIATE")
      try {
        const result = run()
        db.exec("COMMIT")
        return result
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK")
        throw error
      }
    }

    /** One projection's changes and checkpoint, inside the caller's transaction. */
    const applyChanges = ({ projection, version, changes }: ProjectionChanges, through: Position) => {
      // A batch writes each row it changes once, however many of its changes touch that row.
      const batch = new Map<string, { readonly stored: unknown; value: unknown }>()
      const current = (key: string) => {
        const seen = batch.get(key)
        if (seen !== undefined) return seen.value
        const stored = storedRow(projection, key)
        batch.set(key, { stored, value: stored })
        return stored
      }
      const set = (key: string, value: unknown) => {
        const seen = batch.get(key)
        if (seen === undefined) batch.set(key, { stored: notRead, value })
        else seen.value = value
      }
      for (const change of changes) {
        if (change._tag === "Put") set(change.key, change.value)
        else if (change._tag === "Delete") set(change.key, undefined)
        else set(change.key, change.update(current(change.key)))
      }
      // In key order, each write finds the B-tree pages the one before it left in place.
      for (const [key, { stored, value }] of [...batch].sort(byKey)) {
        // An update that returned the row it was given changed nothing.
        if (value === stored) continue
        if (value === undefined) sql.remove.run(projection, key)
        else sql.put.run(projection, key, JSON.stringify(value))
      }
      sql.move.run(projection, version, through)
    }

    return ProjectionStore.of({
      checkpoint: (projection, version) =>
        Effect.try({
          try: () => {
            const row = sql.checkpoint.get(projection)
            if (row !== undefined && row["version"] === version) return row["position"] as Position
            // A new projection, or a new version of one: its old rows go, and it folds the log again.
            if (row !== undefined) inTransaction(() => sql.clear.run(projection))
            return undefined
          },
          catch: failed("checkpoint")
        }),
      apply: (projection, version, changes, through) =>
        Effect.try({ try: () => inTransaction(() => applyChanges({ projection, version, changes }, through)), catch: failed("apply") }),
      applyAll: (folds, through) =>
        Effect.try({ try: () => inTransaction(() => folds.forEach((fold) => applyChanges(fold, through))), catch: failed("apply") }),
      deleteRange: (projection, from, to) =>
        Effect.try({ try: () => void sql.removeRange.run(projection, from, to), catch: failed("delete") }),
      reset: (projection, version, through) =>
        Effect.try({
          try: () =>
            inTransaction(() => {
              sql.clear.run(projection)
              if (through === undefined) sql.forget.run(projection)
              else sql.move.run(projection, version, through)
            }),
          catch: failed("reset")
        }),
      row: (projection, key) => Effect.try({ try: () => storedRow(projection, key), catch: failed("read") }),
      rowsAt: (projection, keys) =>
        Effect.try({
          // One read transaction for them all: outside one, each read would take and release the WAL's read lock.
          try: () => {
            if (keys.length === 0) return []
            db.exec("BEGIN")
            try {
              return keys.map((key) => storedRow(projection, key))
            } finally {
              db.exec("COMMIT")
            }
          },
          catch: failed("read")
        }),
      rows: (projection, prefix, from) =>
        Effect.try({
          // Every key with the prefix sorts below the prefix followed by the highest code point.
          try: () => sql.rows.all(projection, from !== undefined && from > prefix ? from : prefix, `${prefix}\u{10ffff}`).map((row) => ({ key: row["key"] as string, value: JSON.parse(row["value"] as string) })),
          catch: failed("read")
        })
    })
  })
)

/** The same on a private in-memory database: for tests, and for runs that keep nothing. */
export const layerInMemory = layer.pipe(Layer.provide(ReadModelDatabase.layer(":memory:")))
