/**
 * Replay tooling over a large log. `replay.all`: every projection rebuilt from 1,000,000 stored events (the
 * replay scenario's client, profile, instance, forecast and launch events and many more heartbeats, copied
 * for many clients of 40 tenants and written straight into a SQLite store), next to a raw read of the same
 * log in pages.
 * `events.export`: the log written as NDJSON, next to the same raw read. `events.import`: an export
 * appended to an empty store, next to the store's own appends of the same runs of events.
 */
import { Context, Effect, Layer, Stream } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { StoredEvent } from "../domain/envelope.ts"
import { layer as memoryStore } from "../infra/eventStore/memoryEventStore.ts"
import { layerFile } from "../infra/eventStore/sqliteEventStore.ts"
import { openEventDatabase } from "../infra/eventStore/sqliteSchema.ts"
import { allProjections } from "../projections/readModels.ts"
import { CommandHandler } from "../src/commands/commandHandler.ts"
import { EventStore, type EventStoreShape } from "../src/eventStore/eventStore.ts"
import { ProjectionStore } from "../src/projections/projectionStore.ts"
import { exportEvents } from "../src/replay/eventExport.ts"
import { importEvents } from "../src/replay/eventImport.ts"
import { logPages } from "../src/replay/logPages.ts"
import { replayReadModels } from "../src/replay/replayReadModels.ts"
import { readModelsLayer, scenario } from "../test/replay/scenario.ts"
import { type Benchmark, result } from "./benchmark.ts"
import { runQuiet } from "./runQuiet.ts"

const storedEvents = 1_000_000
// Imports append a run of one stream's events per call, each committed on its own: a smaller log bounds the time.
const importedEvents = 20_000
const insertBatch = 10_000

// Heartbeats are most of a real log (the archiver stores every instance's): each copy has this many more.
const heartbeatsPerCopy = 60
// Copies share this many tenants, so that tenants' rows are written again and again, as in a real log.
const tenants = 20

/** The scenario's events, and a shadow's heartbeats, once, from an in-memory store: the pattern the big log repeats. */
const pattern = runQuiet(
  Effect.gen(function* () {
    yield* scenario
    const store = yield* EventStore
    const [beat] = (yield* store.readAll()).filter((event) => event.type === "HeartbeatRecorded").slice(-1)
    const { stream, revision: _, position: __, ...last } = beat!
    const data = last.data as { readonly seq: number }
    yield* store.append(stream, "any", Array.from({ length: heartbeatsPerCopy }, (_, i) => ({ ...last, id: randomUUID(), data: { ...data, seq: data.seq + 1 + i } })))
    return yield* store.readAll()
  }).pipe(Effect.provide(CommandHandler.layer.pipe(Layer.provideMerge(memoryStore))))
)

/** Copy `k` of the pattern: the same events under fresh ids, for clients, instances and launches of its own. */
const copyOf = (events: ReadonlyArray<StoredEvent>, k: number) => {
  const rename = (text: string) => text.replace(/\b(c1|c2|l1|prd-[0-9a-f]{16})\b/g, `$1x${k}`)
  return events.map((event) => {
    const tenant = `${event.tenant}${k % tenants}`
    const stream = rename(event.stream.replace(`-${event.tenant}.`, `-${tenant}.`))
    return { ...event, id: randomUUID(), tenant, stream, data: JSON.parse(rename(JSON.stringify(event.data))) as unknown }
  })
}

/** Writes `count` events into a new SQLite store at `file`, straight into its table, in big transactions. */
const fillStore = (file: string, events: ReadonlyArray<StoredEvent>, count: number) => {
  const db = openEventDatabase(file, 5_000, "NORMAL")
  const insert = db.prepare(
    "INSERT INTO events (id, stream, revision, type, data, at, tenant, correlation_id, causation_id, schema_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
  )
  let written = 0
  db.exec("BEGIN")
  for (let k = 0; written < count; k++) {
    for (const e of copyOf(events, k)) {
      if (written === count) break
      insert.run(e.id, e.stream, e.revision, e.type, JSON.stringify(e.data), e.at, e.tenant, e.correlationId, e.causationId, e.schemaVersion)
      if (++written % insertBatch === 0) db.exec("COMMIT; BEGIN")
    }
  }
  db.exec("COMMIT")
  db.close()
}

const withTempDir = async <A>(use: (dir: string) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "umbra-bench-replay-"))
  try {
    return await use(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const storeAt = (file: string) => Layer.build(layerFile(file)).pipe(Effect.map((context) => Context.get(context, EventStore)))

/** Runs `effect`, giving its count of events per second. */
const rate = <E, R>(effect: Effect.Effect<number, E, R>) =>
  Effect.gen(function* () {
    const start = performance.now()
    const count = yield* effect
    return { count, perSecond: (count * 1000) / (performance.now() - start) }
  })

/** The raw baseline: the whole log read through the store in the replay's pages, nothing done with it. */
const rawRead = (store: EventStoreShape) =>
  rate(logPages(store).pipe(Stream.runFold(() => 0, (n, page) => n + page.length)))

const replayAll = (store: EventStoreShape, dir: string) =>
  rate(
    Effect.gen(function* () {
      const rows = Context.get(yield* Layer.build(readModelsLayer(join(dir, `readmodels-${randomUUID()}.db`))), ProjectionStore)
      return (yield* replayReadModels(logPages(store), { projections: allProjections }).pipe(Effect.provideService(ProjectionStore, rows))).folded
    })
  )

const exportAll = (store: EventStoreShape) =>
  rate(exportEvents().pipe(Stream.runFold(() => 0, (n, { events }) => n + events), Effect.provideService(EventStore, store)))

/** The store's own appends of the runs an import makes (consecutive events of one stream), one call at a time. */
const appendRuns = (store: EventStoreShape, events: ReadonlyArray<StoredEvent>) =>
  rate(
    Effect.gen(function* () {
      for (let i = 0; i < events.length; ) {
        let j = i + 1
        while (j < events.length && events[j]!.stream === events[i]!.stream) j++
        const run = events.slice(i, j)
        yield* store.append(run[0]!.stream, run[0]!.revision === 0 ? "no_stream" : run[0]!.revision - 1, run.map(({ stream: _s, revision: _r, position: _p, ...e }) => e))
        i = j
      }
      return events.length
    })
  )

const replayBench: Benchmark = {
  name: "replay",
  run: () =>
    withTempDir(async (dir) => {
      const events = await pattern
      fillStore(join(dir, "events.db"), events, storedEvents)
      return runQuiet(
        Effect.scoped(
          Effect.gen(function* () {
            const store = yield* storeAt(join(dir, "events.db"))
            // Raw read before and after each measured run, so that load from other processes falls on both alike.
            const raw1 = yield* rawRead(store)
            const replayed = yield* replayAll(store, dir)
            const raw2 = yield* rawRead(store)
            const exported = yield* exportAll(store)
            const raw = (raw1.perSecond + raw2.perSecond) / 2

            const sample = yield* store.readAll({ limit: importedEvents })
            const appended = yield* appendRuns(yield* storeAt(join(dir, "appended.db")), sample)
            const lines = sample.map((event) => JSON.stringify(event))
            const imported = yield* rate(
              importEvents(Stream.fromIterable(lines)).pipe(Effect.map(({ imported }) => imported), Effect.provideService(EventStore, yield* storeAt(join(dir, "imported.db"))))
            )
            const mix = `copies of ${events.length} events (3 clients, ${heartbeatsPerCopy + 3} heartbeats; ${new Set(events.map((event) => event.type)).size} types) for ${2 * tenants} tenants`
            return [
              result("replay.all", "events/s", replayed.perSecond, raw, `all ${allProjections.length} projections rebuilt from ${replayed.count} SQLite events (${mix}) into a new read-model database; baseline: the same log read raw in the replay's pages (aim ≥ 0.3)`),
              result("events.export", "events/s", exported.perSecond, raw, `${exported.count} events as NDJSON text, a page of lines at a time (not written anywhere); baseline: the same log read raw in pages`),
              result("events.import", "events/s", imported.perSecond, appended.perSecond, `${imported.count} exported events imported into an empty SQLite store (every line decoded first, then appended run by run); baseline: the store's appends of the same runs, one call at a time`)
            ]
          })
        )
      )
    })
}

export const benchmarks: ReadonlyArray<Benchmark> = [replayBench]
