import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { allProjections } from "../../projections/readModels.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { ProjectionStore } from "../../src/projections/projectionStore.ts"
import { exportEvents } from "../../src/replay/eventExport.ts"
import { importEvents } from "../../src/replay/eventImport.ts"
import { logPages } from "../../src/replay/logPages.ts"
import { diffReadModels } from "../../src/replay/readModelDiff.ts"
import { replayReadModels } from "../../src/replay/replayReadModels.ts"
import { streamsOf } from "../../src/replay/streamListing.ts"
import { tempDir, umbra } from "../support/umbraCli.ts"
import { dataDirLayers, foldEveryProjection, readModelsLayer, scenario } from "./scenario.ts"


const storeIn = (dir: string) => Layer.build(layerFile(join(dir, "events.db"))).pipe(Effect.map((context) => Context.get(context, EventStore)))
const rowsIn = (dir: string) => Layer.build(readModelsLayer(join(dir, "readmodels.db"))).pipe(Effect.map((context) => Context.get(context, ProjectionStore)))

/** The scenario's data directory, its read models folded live. */
const original = Effect.gen(function* () {
  const dir = yield* tempDir("umbra-events-test-")
  yield* Effect.scoped(Effect.andThen(scenario, foldEveryProjection).pipe(Effect.provide(dataDirLayers(dir))))
  return dir
})

const exported = (store: EventStore["Service"]) =>
  exportEvents().pipe(Stream.map(({ text }) => text), Stream.runCollect, Effect.map((texts) => texts.join("")), Effect.provideService(EventStore, store))

const linesOf = (text: string) => Stream.fromIterable(text.split("\n"))

describe("events export and import", () => {
  it.live("an export imported into an empty store gives the same log and, replayed, the same read models; twice adds nothing", () =>
    Effect.gen(function* () {
      const from = yield* original
      const source = yield* storeIn(from)
      const text = yield* exported(source)
      const log = yield* source.readAll()
      assert.deepStrictEqual(text.trimEnd().split("\n").map((line) => JSON.parse(line).id), log.map((event) => event.id))

      const to = yield* tempDir("umbra-events-test-")
      const target = yield* storeIn(to)
      const importInto = importEvents(linesOf(text)).pipe(Effect.provideService(EventStore, target))
      assert.deepStrictEqual(yield* importInto, { imported: log.length, skipped: 0 })
      assert.deepStrictEqual(yield* importInto, { imported: 0, skipped: log.length })
      const copied = yield* target.readAll()
      const withoutPositions = (events: typeof log) => events.map(({ position: _, ...event }) => event)
      assert.deepStrictEqual(withoutPositions(copied), withoutPositions(log))

      yield* replayReadModels(logPages(target), { projections: allProjections }).pipe(Effect.provideService(ProjectionStore, yield* rowsIn(to)))
      assert.deepStrictEqual(yield* diffReadModels(yield* rowsIn(from), yield* rowsIn(to), allProjections), [])
    }))

  it.live("a file with a line that is not JSON and one that fails the schema is refused whole, naming both lines", () =>
    Effect.gen(function* () {
      const source = yield* storeIn(yield* original)
      const lines = (yield* exported(source)).trimEnd().split("\n")
      const broken = [...lines]
      broken[2] = "{not json"
      broken[4] = JSON.stringify({ ...JSON.parse(lines[4]!), revision: "three" })
      const target = yield* storeIn(yield* tempDir("umbra-events-test-"))
      const refused = yield* importEvents(Stream.fromIterable(broken)).pipe(Effect.provideService(EventStore, target), Effect.flip)
      assert.strictEqual(refused._tag, "ImportRefused")
      if (refused._tag !== "ImportRefused") return
      assert.strictEqual(refused.count, 2)
      assert.deepStrictEqual(refused.lines.map((bad) => bad.line), [3, 5])
      assert.match(refused.lines[1]!.message, /revision/)
      assert.deepStrictEqual(yield* target.readAll(), [], "nothing of the file was applied")

      // A stream whose revisions skip one is refused the same way, before anything is written.
      const skipping = lines.filter((line) => !(JSON.parse(line).stream === "launch-acme.l1" && JSON.parse(line).revision === 3))
      // So is an id the store would refuse half-way through.
      const badId = [...lines]
      badId[6] = JSON.stringify({ ...JSON.parse(lines[6]!), id: "not-a-uuid" })
      const refusedId = yield* importEvents(Stream.fromIterable(badId)).pipe(Effect.provideService(EventStore, target), Effect.flip)
      assert.deepStrictEqual(refusedId._tag === "ImportRefused" ? refusedId.lines : [], [{ line: 7, message: "event id not-a-uuid is not a lower-case UUID" }])

      const gap = yield* importEvents(Stream.fromIterable(skipping)).pipe(Effect.provideService(EventStore, target), Effect.flip)
      assert.strictEqual(gap._tag, "ImportRefused")
      assert.match(gap._tag === "ImportRefused" ? gap.lines[0]!.message : "", /launch-acme\.l1 has revision 4 here, where the lines before it make 3 next/)
      assert.deepStrictEqual(yield* target.readAll(), [])
    }))

  it.live("lists streams by tenant and category", () =>
    Effect.gen(function* () {
      const source = yield* storeIn(yield* original)
      const list = (filter: { readonly tenant?: string; readonly category?: string }) =>
        streamsOf(filter).pipe(Stream.map((s) => s.stream), Stream.runCollect, Effect.provideService(EventStore, source))
      assert.deepStrictEqual(yield* list({ tenant: "beta" }), ["client-beta.c1", "forecast-beta.c1", "instance-beta.shd-c1", "profile-beta.c1"])
      assert.deepStrictEqual(yield* list({ category: "instance" }), ["instance-acme.shd-c1", "instance-acme.shd-c2", "instance-beta.shd-c1"])
      assert.deepStrictEqual(yield* list({ tenant: "acme", category: "client" }), ["client-acme.c1", "client-acme.c2"])
    }))

  it.live("umbra events export | import through the CLI, --json, and a corrupt line reported by number", () =>
    Effect.gen(function* () {
      const from = yield* original
      const file = join(yield* tempDir("umbra-events-test-"), "events.ndjson")
      const out = yield* umbra(from, ["events", "export", "--out", file, "--json"])
      assert.strictEqual(out.code, 0, out.stderr)
      const lines = readFileSync(file, "utf8").trimEnd().split("\n")
      assert.deepStrictEqual(JSON.parse(out.stdout), { exported: lines.length, out: file })
      const acme = yield* umbra(from, ["events", "export", "--tenant", "acme"])
      assert.deepStrictEqual(acme.stdout.trimEnd().split("\n").map((line) => JSON.parse(line).tenant), lines.map((line) => JSON.parse(line).tenant).filter((t) => t === "acme"))

      const to = yield* tempDir("umbra-events-test-")
      const first = yield* umbra(to, ["events", "import", file, "--json"])
      assert.strictEqual(first.code, 0, first.stderr)
      assert.deepStrictEqual(JSON.parse(first.stdout), { imported: lines.length, skipped: 0 })
      // Progress on stderr for both passes over the file, the second knowing how many lines there are.
      assert.match(first.stderr, new RegExp(`checking: ${lines.length} events[\\s\\S]*importing: ${lines.length}/${lines.length} events`))
      assert.deepStrictEqual(JSON.parse((yield* umbra(to, ["events", "import", file, "--json"])).stdout), { imported: 0, skipped: lines.length })

      const corrupt = join(yield* tempDir("umbra-events-test-"), "corrupt.ndjson")
      writeFileSync(corrupt, [...lines.slice(0, 6), "[1, 2", ...lines.slice(6)].join("\n"))
      const refused = yield* umbra(yield* tempDir("umbra-events-test-"), ["events", "import", corrupt])
      assert.strictEqual(refused.code, 1)
      assert.match(refused.stderr, /line 7: /)
      assert.include(refused.stderr, "nothing imported")

      const shown = yield* umbra(to, ["streams", "show", "launch-acme.l1", "--json"])
      assert.strictEqual(shown.code, 0, shown.stderr)
      assert.strictEqual(shown.stdout.trimEnd().split("\n").map((line) => JSON.parse(line)).at(-1).type, "ShadowReleased")
      const listed = yield* umbra(to, ["streams", "ls", "--category", "launch"])
      assert.strictEqual(listed.stdout, "launch-acme.l1\t10\n")
      assert.strictEqual((yield* umbra(to, ["streams", "show", "launch-acme.nope"])).code, 1)
    }), { timeout: 120_000 })
})
