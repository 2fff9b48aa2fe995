import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { StoredEvent } from "../../domain/envelope.ts"
import { layer } from "../../infra/eventStore/sqliteEventStore.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { spawnWriter } from "../support/childProcess.ts"
import { writeEvents } from "./sqliteWriter.ts"

const dir = mkdtempSync(join(tmpdir(), "umbra-sqlite-mp-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const writerScript = fileURLToPath(new URL("./sqliteWriter.ts", import.meta.url))
const perWriter = 1500
const sharedStream = "test-acme.shared"

const revisionsAreContiguous = (log: ReadonlyArray<StoredEvent>) => {
  const byStream = new Map<string, Array<number>>()
  for (const event of log) byStream.set(event.stream, [...(byStream.get(event.stream) ?? []), event.revision])
  return [...byStream.values()].every((revisions) => revisions.every((r, i) => r === i))
}

describe("SQLite event store shared by two OS processes", () => {
  it.live("loses nothing when another process appends to the same file at the same time", () =>
    Effect.gen(function* () {
      const file = join(dir, "shared.db")
      const store = yield* EventStore
      const total = 2 * perWriter
      const subscriber = yield* store.subscribe().pipe(Stream.take(total), Stream.runCollect, Effect.forkChild)

      const ready = yield* Deferred.make<void>()
      const go = yield* Deferred.make<void>()
      const child = yield* Effect.forkChild(spawnWriter<ReadonlyArray<string>>(writerScript, [file, "child", String(perWriter), sharedStream], ready, go))
      yield* Deferred.await(ready)
      // One append before the child starts and one after it ended, around a run of both at once: the log
      // switches between the processes at least twice however the scheduler runs them.
      const write = (writer: string, count: number) => writeEvents(writer, count, sharedStream).pipe(Effect.provideService(EventStore, store))
      const first = yield* write("parent-first", 1)
      yield* Deferred.succeed(go, undefined)
      const middle = yield* write("parent", perWriter - 2)
      const theirs = yield* Fiber.join(child)
      const last = yield* write("parent-last", 1)
      const ours = [...first, ...middle, ...last]

      const log = yield* store.readAll()
      const written = [...ours, ...theirs]
      assert.strictEqual(log.length, total)
      assert.deepStrictEqual(new Set(log.map((e) => e.id)), new Set(written))
      assert.isTrue(revisionsAreContiguous(log), "every stream's revisions run 0, 1, 2, … without a gap")
      const writers = log.map((e) => ((e.data as { writer: string }).writer === "child" ? "child" : "parent"))
      const switches = writers.filter((w, i) => i > 0 && w !== writers[i - 1]).length
      assert.isAbove(switches, 1, "the two processes' appends interleave")

      const seen = yield* Fiber.join(subscriber).pipe(Effect.timeout("30 seconds"))
      assert.deepStrictEqual(seen.map((e) => e.id), log.map((e) => e.id))
    }).pipe(Effect.provide(layer({ file: join(dir, "shared.db"), pollInterval: "25 millis" }))), 60_000)
})
