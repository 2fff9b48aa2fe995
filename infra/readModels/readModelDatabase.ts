import { Context, Effect, Layer } from "effect"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"

/** The SQLite file that holds read models and reader checkpoints, apart from the event store. */
export class ReadModelDatabase extends Context.Service<ReadModelDatabase, DatabaseSync>()("umbra/ReadModelDatabase") {
  static readonly layer = (file: string) =>
    Layer.effect(
      ReadModelDatabase,
      Effect.acquireRelease(
        Effect.try({
          try: () => {
            if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true })
            const db = new DatabaseSync(file)
            // Read models are written in large batches over rows spread through the key space: a larger page
            // cache, and checkpoints of the WAL every 40 MB rather than every 4 MB, write each page less often.
            // Rows are a few hundred bytes to a few KB: 16 KiB pages (for a new file) hold rows of up to 4 KB
            // without overflow pages (4 KiB pages: 1 KB), and write a batch in a third of the time.
            db.exec(
              "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 2500;"
            )
            // Every reader's checkpoint, beside the rows it wrote, so both commit in one transaction.
            db.exec("CREATE TABLE IF NOT EXISTS checkpoints (reader TEXT PRIMARY KEY, position TEXT NOT NULL)")
            // Telemetry buckets had a table of their own before they became the `telemetry` projection's rows.
            db.exec("DROP TABLE IF EXISTS telemetry_buckets; DELETE FROM checkpoints WHERE reader = 'telemetry';")
            return db
          },
          catch: (error) => new StoreUnavailable({ message: `cannot open read models at ${file}: ${String(error)}` })
        }),
        (db) => Effect.sync(() => db.close())
      )
    )
}
