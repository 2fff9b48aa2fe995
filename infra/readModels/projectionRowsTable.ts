import type { DatabaseSync } from "node:sqlite"

/**
 * The table of every projection's rows. A rowid table: rows run from a few hundred bytes to a few KB, and a
 * batch writes rows spread through the key space, so new rows are appended in order and only the small index
 * entries land all over; with the rows in the key's B-tree (`WITHOUT ROWID`, the layout before) a replay of
 * all projections ran about 5 % slower.
 */
const create = "CREATE TABLE IF NOT EXISTS projection_rows (projection TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, UNIQUE (projection, key))"

/** Creates the table, or moves the rows of a file made with the layout before into it, in one transaction. */
export const ensureProjectionRows = (db: DatabaseSync) => {
  const existing = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'projection_rows'").get()?.["sql"]
  if (typeof existing !== "string" || !/WITHOUT ROWID/i.test(existing)) return db.exec(create)
  db.exec("BEGIN IMMEDIATE")
  try {
    db.exec(`ALTER TABLE projection_rows RENAME TO projection_rows_keyed; ${create};`)
    db.exec("INSERT INTO projection_rows (projection, key, value) SELECT projection, key, value FROM projection_rows_keyed ORDER BY projection, key; DROP TABLE projection_rows_keyed;")
    db.exec("COMMIT")
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK")
    throw error
  }
}
