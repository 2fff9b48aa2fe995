import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { allProjections } from "../../projections/readModels.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { ProjectionStore } from "../../src/projections/projectionStore.ts"
import { logPages } from "../../src/replay/logPages.ts"
import { diffReadModels } from "../../src/replay/readModelDiff.ts"
import { replayReadModels } from "../../src/replay/replayReadModels.ts"
import { tempDir, umbra } from "../support/umbraCli.ts"
import { dataDirLayers, foldEveryProjection, readModelsLayer, scenario } from "./scenario.ts"


/** The scenario's log in `dir`, with every read model folded live as the control plane folds them. */
const liveDataDir = (dir: string) => Effect.scoped(Effect.andThen(scenario, foldEveryProjection).pipe(Effect.provide(dataDirLayers(dir))))

const rowsIn = (file: string) => Layer.build(readModelsLayer(file)).pipe(Effect.map((context) => Context.get(context, ProjectionStore)))

/** Changes the value of one row of a read-model database behind Umbra's back; says which. */
const tamper = (file: string) => {
  const db = new DatabaseSync(file)
  try {
    const row = db.prepare("SELECT projection, key, value FROM projection_rows WHERE projection = 'profiles' ORDER BY key LIMIT 1").get()!
    db.prepare("UPDATE projection_rows SET value = ? WHERE projection = ? AND key = ?").run('{"tampered":true}', row["projection"] as string, row["key"] as string)
    return { projection: row["projection"] as string, key: row["key"] as string, value: JSON.parse(row["value"] as string) as unknown }
  } finally {
    db.close()
  }
}

describe("replay", () => {
  it.live("rebuilds every read model from the log into a scratch database equal to the live one, and names a row that differs", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("umbra-replay-test-")
      yield* liveDataDir(dir)
      const scratch = join(yield* tempDir("umbra-replay-test-"), "readmodels.db")
      const store = Context.get(yield* Layer.build(layerFile(join(dir, "events.db"))), EventStore)
      const outcome = yield* replayReadModels(logPages(store), { projections: allProjections }).pipe(Effect.provideService(ProjectionStore, yield* rowsIn(scratch)))
      assert.strictEqual(outcome.folded, (yield* store.readAll()).length)
      assert.strictEqual(outcome.through, yield* store.headPosition())

      const live = yield* rowsIn(join(dir, "readmodels.db"))
      const rebuilt = yield* rowsIn(scratch)
      assert.deepStrictEqual(yield* diffReadModels(live, rebuilt, allProjections), [])
      for (const projection of allProjections) {
        assert.strictEqual(yield* rebuilt.checkpoint(projection.name, projection.version), outcome.through, projection.name)
      }
      // The scenario left rows in the read models that a replay must give back.
      assert.isAbove((yield* rebuilt.rows("profiles", "")).length, 0)
      assert.isAbove((yield* rebuilt.rows("launches", "")).length, 0)

      const changed = tamper(scratch)
      assert.deepStrictEqual(yield* diffReadModels(live, rebuilt, allProjections), [
        { projection: changed.projection, key: changed.key, live: changed.value, rebuilt: { tampered: true } }
      ])
    }))

  it.live("--from folds only the events after a position: the rows hold what those made", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("umbra-replay-test-")
      yield* liveDataDir(dir)
      const store = Context.get(yield* Layer.build(layerFile(join(dir, "events.db"))), EventStore)
      const log = yield* store.readAll()
      const from = log[log.length - 3]!.position
      const rows = yield* rowsIn(join(yield* tempDir("umbra-replay-test-"), "readmodels.db"))
      const outcome = yield* replayReadModels(logPages(store, { after: from }), { projections: allProjections, from }).pipe(Effect.provideService(ProjectionStore, rows))
      assert.strictEqual(outcome.folded, 2)
      // The last two events are the disconnect and the shadow's termination: no profile rows come of them.
      assert.deepStrictEqual(yield* rows.rows("profiles", ""), [])
    }))

  it.live("umbra replay --all --into <dir> --diff exits 0 on an equal rebuild, 1 naming a live row that differs", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir("umbra-replay-test-")
      yield* liveDataDir(dir)
      const scratch = yield* tempDir("umbra-replay-test-")
      const equal = yield* umbra(dir, ["replay", "--all", "--into", scratch, "--diff", "--json"])
      assert.strictEqual(equal.code, 0, equal.stderr)
      const report = JSON.parse(equal.stdout)
      assert.deepStrictEqual(report.differences, [])
      assert.deepStrictEqual(report.projections, allProjections.map((projection) => projection.name))
      assert.match(equal.stderr, /replay: \d+/, "progress lines on stderr when it is not a terminal")

      const changed = tamper(join(dir, "readmodels.db"))
      const differing = yield* umbra(dir, ["replay", "--all", "--into", scratch, "--diff"])
      assert.strictEqual(differing.code, 1, differing.stderr)
      assert.include(differing.stdout, `${changed.projection}\t${changed.key}\tlive: {"tampered":true}\trebuilt: ${JSON.stringify(changed.value)}`)
      assert.include(differing.stdout, "1 row(s) differ")

      // Without --into, --diff rebuilds in a directory of its own and leaves the live rows as they are.
      const again = yield* umbra(dir, ["replay", "--projection", "profiles", "--diff", "--json"])
      assert.strictEqual(again.code, 1)
      assert.deepStrictEqual(JSON.parse(again.stdout).differences.map((d: { key: string }) => d.key), [changed.key])

      // Rebuilding the live database puts the row back.
      assert.strictEqual((yield* umbra(dir, ["replay", "--all"])).code, 0)
      assert.strictEqual((yield* umbra(dir, ["replay", "--all", "--diff"])).code, 0)

      assert.strictEqual((yield* umbra(dir, ["replay", "--projection", "nope"])).code, 2)
      assert.strictEqual((yield* umbra(dir, ["replay"])).code, 2)
      assert.strictEqual((yield* umbra(dir, ["replay", "--all", "--from", "not-a-position"])).code, 2)
    }), { timeout: 120_000 })
})
