import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { ReadModelDatabase } from "../../infra/readModels/readModelDatabase.ts"
import * as sqliteProjections from "../../infra/readModels/sqliteProjections.ts"
import { positionFrom } from "../../src/eventStore/position.ts"
import { ProjectionStore } from "../../src/projections/projectionStore.ts"
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

  it.effect("given projection rows in the layout before (WITHOUT ROWID), then they move into the rowid table and read and write as before", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "umbra-readmodels-"))
      const file = join(dir, "readmodels.db")
      const old = new DatabaseSync(file)
      old.exec(`CREATE TABLE projection_rows (projection TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (projection, key)) WITHOUT ROWID;
        CREATE TABLE projection_checkpoints (projection TEXT PRIMARY KEY, version INTEGER NOT NULL, position TEXT NOT NULL) WITHOUT ROWID;
        INSERT INTO projection_rows VALUES ('fleet', 'acme/a', '{"n":1}'), ('fleet', 'acme/b', '{"n":2}'), ('tenant', 'acme', '{"events":3}');
        INSERT INTO projection_checkpoints VALUES ('fleet', 1, '00000000000000000009');`)
      old.close()
      const open = <A>(use: (rows: ProjectionStore["Service"]) => Effect.Effect<A, unknown>) =>
        ProjectionStore.use(use).pipe(Effect.provide(sqliteProjections.layer.pipe(Layer.provide(ReadModelDatabase.layer(file)))))
      const read = open((rows) =>
        Effect.all([rows.rows("fleet", "acme/"), rows.row("tenant", "acme"), rows.checkpoint("fleet", 1)])
      )
      const first = yield* read
      yield* open((rows) => rows.apply("fleet", 1, [{ _tag: "Put", key: "acme/a", value: { n: 5 } }], positionFrom(10)))
      const second = yield* read
      const reopened = new DatabaseSync(file)
      const layout = reopened.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name LIKE 'projection_rows%'").all()
      reopened.close()
      rmSync(dir, { recursive: true, force: true })
      assert.deepStrictEqual(first, [[{ key: "acme/a", value: { n: 1 } }, { key: "acme/b", value: { n: 2 } }], { events: 3 }, positionFrom(9)])
      assert.deepStrictEqual(second, [[{ key: "acme/a", value: { n: 5 } }, { key: "acme/b", value: { n: 2 } }], { events: 3 }, positionFrom(10)])
      assert.lengthOf(layout, 1)
      assert.notMatch(String(layout[0]!["sql"]), /WITHOUT ROWID/i)
    }))
})
