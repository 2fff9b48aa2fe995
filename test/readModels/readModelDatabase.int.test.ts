import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { ReadModelDatabase } from "../../infra/readModels/readModelDatabase.ts"
import * as sqliteProjections from "../../infra/readModels/sqliteProjections.ts"
import { TelemetryReadModel } from "../../src/telemetry/telemetryReadModel.ts"

describe("read-model database", () => {
  it.effect("given a database of the release before the telemetry projection, then its bucket table goes and telemetry folds again from the start", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "umbra-readmodels-"))
      const file = join(dir, "readmodels.db")
      const old = new DatabaseSync(file)
      old.exec(`CREATE TABLE checkpoints (reader TEXT PRIMARY KEY, position TEXT NOT NULL);
        CREATE TABLE telemetry_buckets (scope TEXT, key TEXT, metric TEXT, size TEXT, start INTEGER, PRIMARY KEY (scope, key, metric, size, start)) WITHOUT ROWID;
        INSERT INTO checkpoints VALUES ('telemetry', '41'), ('relay', '00000000000000000007');`)
      old.close()
      const checkpoint = yield* TelemetryReadModel.use((model) => model.checkpoint()).pipe(
        Effect.provide(TelemetryReadModel.layer.pipe(Layer.provideMerge(sqliteProjections.layer), Layer.provide(ReadModelDatabase.layer(file))))
      )
      const reopened = new DatabaseSync(file)
      const tables = reopened.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'telemetry_buckets'").all()
      const readers = reopened.prepare("SELECT reader FROM checkpoints ORDER BY reader").all().map((row) => row["reader"])
      reopened.close()
      rmSync(dir, { recursive: true, force: true })
      assert.strictEqual(checkpoint, 0)
      assert.deepStrictEqual(tables, [])
      assert.deepStrictEqual(readers, ["relay"])
    }))
})
