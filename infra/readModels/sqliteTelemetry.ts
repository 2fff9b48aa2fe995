import { Effect, Layer } from "effect"
import { type Bucket, type BucketKey, bucketSizes, foldSamples, summarize } from "../../projections/telemetryBuckets.ts"
import { StoreUnavailable } from "../../src/eventStore/errors.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"
import { ReadModelDatabase } from "./readModelDatabase.ts"
import type { TenantKey } from "../../domain/tenantKey.ts"

const reader = "telemetry"

const failed = (action: string) => (error: unknown) =>
  new StoreUnavailable({ message: `telemetry read model ${action} failed: ${String(error)}` })

/** The telemetry read model in the read-model database, its checkpoint in the same transactions. */
export const layer = Layer.effect(
  TelemetryReadModel,
  Effect.gen(function* () {
    const db = yield* ReadModelDatabase
    db.exec(`
      CREATE TABLE IF NOT EXISTS telemetry_buckets (
        scope TEXT NOT NULL, key TEXT NOT NULL, metric TEXT NOT NULL, size TEXT NOT NULL, start INTEGER NOT NULL,
        count INTEGER NOT NULL, sum REAL NOT NULL, max REAL NOT NULL, "values" TEXT NOT NULL,
        PRIMARY KEY (scope, key, metric, size, start)
      ) WITHOUT ROWID;`)
    const select = db.prepare(
      `SELECT count, sum, max, "values" FROM telemetry_buckets WHERE scope = ? AND key = ? AND metric = ? AND size = ? AND start = ?`
    )
    const upsert = db.prepare(
      `INSERT INTO telemetry_buckets (scope, key, metric, size, start, count, sum, max, "values") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, key, metric, size, start) DO UPDATE SET
         count = excluded.count, sum = excluded.sum, max = excluded.max, "values" = excluded."values"`
    )
    const prune = db.prepare(`DELETE FROM telemetry_buckets WHERE scope = ? AND key = ? AND metric = ? AND size = ? AND start < ?`)
    const loadCheckpoint = db.prepare("SELECT position FROM checkpoints WHERE reader = ?")
    const saveCheckpoint = db.prepare(
      "INSERT INTO checkpoints (reader, position) VALUES (?, ?) ON CONFLICT (reader) DO UPDATE SET position = excluded.position"
    )
    const range = db.prepare(
      `SELECT start, count, sum, max, "values" FROM telemetry_buckets
       WHERE scope = ? AND key = ? AND metric = ? AND size = ? AND start >= ? ORDER BY start`
    )

    const distinctKeys = db.prepare("SELECT DISTINCT key FROM telemetry_buckets WHERE scope = ? AND size = ?")

    const stored = (key: BucketKey): Bucket | undefined => {
      const row = select.get(key.scope, key.key, key.metric, key.size, key.start)
      return row === undefined
        ? undefined
        : { ...key, count: Number(row["count"]), sum: Number(row["sum"]), max: Number(row["max"]), values: JSON.parse(String(row["values"])) }
    }

    return TelemetryReadModel.of({
      apply: (batch, throughSeq) =>
        Effect.try({
          try: () => {
            db.exec("BEGIN IMMEDIATE")
            try {
              for (const bucket of foldSamples(batch, stored).values()) {
                upsert.run(bucket.scope, bucket.key, bucket.metric, bucket.size, bucket.start, bucket.count, bucket.sum, bucket.max, JSON.stringify(bucket.values))
                // Bounded history: each series keeps its newest buckets only.
                const size = bucketSizes[bucket.size]
                prune.run(bucket.scope, bucket.key, bucket.metric, bucket.size, bucket.start - size.keep * size.ms)
              }
              saveCheckpoint.run(reader, String(throughSeq))
              db.exec("COMMIT")
            } catch (error) {
              db.exec("ROLLBACK")
              throw error
            }
          },
          catch: failed("apply")
        }),
      checkpoint: () =>
        Effect.try({ try: () => Number(loadCheckpoint.get(reader)?.["position"] ?? 0), catch: failed("checkpoint") }),
      keys: (scope, size) =>
        Effect.try({ try: () => distinctKeys.all(scope, size).map((row) => String(row["key"]) as TenantKey), catch: failed("keys") }),
      series: (query) =>
        Effect.try({
          try: () =>
            range.all(query.scope, query.key, query.metric, query.size, query.sinceMs ?? 0).map((row) =>
              summarize({
                ...query,
                start: Number(row["start"]),
                count: Number(row["count"]),
                sum: Number(row["sum"]),
                max: Number(row["max"]),
                values: JSON.parse(String(row["values"]))
              })
            ),
          catch: failed("query")
        })
    })
  })
)
