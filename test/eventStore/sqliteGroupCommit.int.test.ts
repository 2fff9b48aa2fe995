import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { openEventDatabase } from "../../infra/eventStore/sqliteSchema.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { newEvent } from "./conformance.ts"

const dir = mkdtempSync(join(tmpdir(), "umbra-group-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const streams = 40

describe("SQLite group commit", () => {
  it("commits with synchronous = FULL: a decision is on disk before anyone hears of it", () => {
    const db = openEventDatabase(join(dir, "pragma.db"), 1_000)
    try {
      assert.strictEqual(db.prepare("PRAGMA synchronous").get()!["synchronous"], 2)
      assert.strictEqual(db.prepare("PRAGMA journal_mode").get()!["journal_mode"], "wal")
    } finally {
      db.close()
    }
  })

  it.live("appends sent together are committed together, each with its own outcome", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      const first = yield* Effect.forEach(Array.from({ length: streams }, (_, i) => i), (i) =>
        store.append(`group-acme.s${i}`, "no_stream", [newEvent({ i })]))
      const replayed = newEvent({ again: true })
      yield* store.append("group-acme.replay", "no_stream", [replayed])
      // One burst: a good append per stream, a stale one per stream, a replay and a taken id.
      const burst = yield* Effect.all(
        [
          ...first.map((_, i) => store.append(`group-acme.s${i}`, 0, [newEvent({ i, n: 1 })])),
          ...first.map((_, i) => store.append(`group-acme.s${i}`, "no_stream", [newEvent({ i, stale: true })])),
          store.append("group-acme.replay", "no_stream", [replayed]),
          store.append("group-acme.other", "no_stream", [replayed])
        ].map(Effect.exit),
        { concurrency: "unbounded" }
      )
      const good = burst.slice(0, streams)
      const stale = burst.slice(streams, 2 * streams)
      assert.isTrue(good.every((exit) => Exit.isSuccess(exit) && exit.value.revision === 1 && exit.value.appended))
      assert.isTrue(stale.every((exit) => Exit.isFailure(exit) && String(exit.cause).includes("ConcurrencyConflict")))
      const replay = burst[2 * streams]!
      assert.isTrue(Exit.isSuccess(replay) && !replay.value.appended && replay.value.revision === 0)
      const taken = burst[2 * streams + 1]!
      assert.isTrue(Exit.isFailure(taken) && String(taken.cause).includes("DuplicateEventId"))
      // Only what was accepted is stored.
      const all = yield* store.readAll()
      assert.strictEqual(all.length, 2 * streams + 1)
      assert.isTrue(all.every((event) => (event.data as { stale?: boolean }).stale !== true))
    }).pipe(Effect.provide(layerFile(join(dir, "burst.db")))))
})
