/**
 * The SQLite event store against bare `node:sqlite` on a table of the same shape: appends of one event and
 * of 100, from one writer and from 64 at once, and global-log reads in pages, each next to the same work
 * done raw; and what synchronous=FULL costs against NORMAL.
 */
import { Effect, type Scope } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { NewEvent, Position } from "../domain/envelope.ts"
import { layerFile } from "../infra/eventStore/sqliteEventStore.ts"
import { eventColumns, openEventDatabase } from "../infra/eventStore/sqliteSchema.ts"
import { EventStore, type EventStoreShape } from "../src/eventStore/eventStore.ts"
import { compareRates, result, type Benchmark } from "./benchmark.ts"

const rounds = 5
const maxMillis = 5_000 // per loop, split over the rounds
const pageSize = 512
const readRows = 200_000

/** A telemetry-sized event: about 200 bytes of data. */
const newEvent = (n: number): NewEvent => ({
  id: randomUUID(),
  type: "TelemetrySampled",
  at: new Date().toISOString(),
  tenant: "acme",
  correlationId: randomUUID(),
  causationId: randomUUID(),
  schemaVersion: 1,
  data: { instanceId: "shd-7f3a", n, cpu: 0.25, memBytes: 268_435_456, note: "x".repeat(110) }
})

/** Opens a store on `file` for the length of `use`; the bench loops run synchronously inside it. */
const withStore = <A>(file: string, use: (store: EventStoreShape) => Effect.Effect<A, unknown, Scope.Scope>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      return yield* use(yield* EventStore)
    }).pipe(Effect.scoped, Effect.provide(layerFile(file)))
  )

const withTempDir = async <A>(use: (dir: string) => Promise<A>): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), "umbra-bench-"))
  try {
    return await use(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The bare loop: serialize and insert `batch` rows per transaction, as the store must, spread over 100
 * streams like the store loops (revisions run on within each stream).
 */
const rawAppends = (file: string, batch: number, synchronous: "FULL" | "NORMAL") => {
  const db = openEventDatabase(file, 5_000, synchronous)
  const insert = db.prepare(
    "INSERT INTO events (id, stream, revision, type, data, at, tenant, correlation_id, causation_id, schema_version)" +
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
  )
  const begin = db.prepare("BEGIN IMMEDIATE")
  const commit = db.prepare("COMMIT")
  const template = Array.from({ length: batch }, (_, i) => newEvent(i))
  let batches = 0
  const loop = (count: number, deadline: number) => {
    let done = 0
    while (done < count && performance.now() < deadline) {
      const stream = `bench-acme.s${batches % 100}`
      let revision = Math.floor(batches++ / 100) * batch
      begin.run()
      for (const e of template) {
        insert.run(randomUUID(), stream, revision++, e.type, JSON.stringify(e.data), e.at, e.tenant,
          e.correlationId, e.causationId, e.schemaVersion)
      }
      commit.run()
      done += batch
    }
    return done
  }
  return { loop, close: () => db.close() }
}

/** The store's appends of `batch` events, from `writers` fibers at once, each waiting for its own. */
const storeAppends = (store: EventStoreShape, batch: number, writers: number) => {
  const template = Array.from({ length: batch }, (_, i) => newEvent(i))
  let batches = 0
  return (count: number, deadline: number) =>
    Effect.runPromise(
      Effect.gen(function* () {
        let done = 0
        const writer = Effect.gen(function* () {
          while (done < count && performance.now() < deadline) {
            const events = template.map((e) => ({ ...e, id: randomUUID() }))
            yield* store.append(`bench-acme.s${batches++ % 100}`, "any", events)
            done += batch
          }
        })
        yield* Effect.all(Array.from({ length: writers }, () => writer), { concurrency: "unbounded" })
        return done
      })
    )
}

/** The store (synchronous = FULL, group commit) against bare inserts at FULL, one writer at a time. */
const appendBench = (name: string, batch: number, maxCount: number): Benchmark => ({
  name,
  run: () =>
    withTempDir(async (dir) => {
      const raw = rawAppends(join(dir, "raw.db"), batch, "FULL")
      try {
        const rates = await withStore(join(dir, "store.db"), (store) =>
          Effect.promise(() => compareRates({ rounds, maxCount, maxMillis }, raw.loop, storeAppends(store, batch, 1))))
        return [
          result(name, "events/s", rates.value.perSecond, rates.raw.perSecond,
            `${batch} event(s) per append, one writer; ${rates.value.count} events via the store, ${rates.raw.count} raw; both synchronous=FULL`)
        ]
      } finally {
        raw.close()
      }
    })
})

/** What durability costs: bare inserts committed at FULL against the same at NORMAL, in alternating rounds. */
const durabilityBench = (name: string, batch: number, maxCount: number): Benchmark => ({
  name,
  run: () =>
    withTempDir(async (dir) => {
      const full = rawAppends(join(dir, "full.db"), batch, "FULL")
      const normal = rawAppends(join(dir, "normal.db"), batch, "NORMAL")
      try {
        const rates = await compareRates({ rounds, maxCount, maxMillis }, normal.loop, full.loop)
        return [
          result(name, "events/s", rates.value.perSecond, rates.raw.perSecond,
            `bare inserts, ${batch} per transaction: synchronous=FULL (value) against NORMAL (baseline), WAL`)
        ]
      } finally {
        full.close()
        normal.close()
      }
    })
})

/**
 * Many writers at once, as commands arrive: the store at FULL, whose appends in flight together share one
 * commit, against bare inserts at NORMAL committed one by one (how the store wrote before).
 */
const concurrentBench: Benchmark = {
  name: "sqlite.append.concurrent64",
  run: () =>
    withTempDir(async (dir) => {
      const raw = rawAppends(join(dir, "raw.db"), 1, "NORMAL")
      try {
        const rates = await withStore(join(dir, "store.db"), (store) =>
          Effect.promise(() => compareRates({ rounds, maxCount: 100_000, maxMillis }, raw.loop, storeAppends(store, 1, 64))))
        return [
          result("sqlite.append.concurrent64", "events/s", rates.value.perSecond, rates.raw.perSecond,
            `64 writers of one event each via the store (FULL, group commit), ${rates.value.count} events; baseline one bare insert per transaction at NORMAL, ${rates.raw.count}`)
        ]
      } finally {
        raw.close()
      }
    })
}

const readBench: Benchmark = {
  name: "sqlite.readAll",
  run: () =>
    withTempDir((dir) => {
      const file = join(dir, "log.db")
      return withStore(file, (store) =>
        Effect.gen(function* () {
          for (let n = 0; n < readRows; n += 500) {
            yield* store.append(`bench-acme.s${n % 100}`, "any", Array.from({ length: 500 }, (_, i) => newEvent(n + i)))
          }
          const db = openEventDatabase(file, 5_000)
          const page = db.prepare(`SELECT ${eventColumns} FROM events WHERE position > ? ORDER BY position LIMIT ?`)
          let rawAfter = 0
          // The bare loop: the same pages of the same rows, returned as node:sqlite's plain row objects.
          const raw = (count: number, deadline: number) => {
            let done = 0
            while (done < count && performance.now() < deadline) {
              const rows = page.all(rawAfter, pageSize)
              rawAfter = rows.length < pageSize ? 0 : (rows[rows.length - 1]!["position"] as number)
              done += rows.length
            }
            return done
          }
          let cursor: Position | undefined
          const measured = (count: number, deadline: number) =>
            Effect.runPromise(
              Effect.gen(function* () {
                let done = 0
                while (done < count && performance.now() < deadline) {
                  const events = yield* store.readAll(cursor === undefined ? { limit: pageSize } : { after: cursor, limit: pageSize })
                  cursor = events.length < pageSize ? undefined : events[events.length - 1]!.position
                  done += events.length
                }
                return done
              })
            )
          const rates = yield* Effect.promise(() => compareRates({ rounds, maxCount: readRows, maxMillis }, raw, measured))
          db.close()
          return rates
        })
      ).then(({ raw, value }) => [
        result("sqlite.readAll", "events/s", value.perSecond, raw.perSecond,
          `pages of ${pageSize}; the store parses data into StoredEvents, the raw loop returns bare rows`)
      ])
    })
}

export const benchmarks: ReadonlyArray<Benchmark> = [
  appendBench("sqlite.append.single", 1, 50_000),
  appendBench("sqlite.append.batch100", 100, 300_000),
  concurrentBench,
  durabilityBench("sqlite.durability.single", 1, 50_000),
  durabilityBench("sqlite.durability.batch100", 100, 300_000),
  readBench
]
