import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { StoredEvent } from "../../domain/envelope.ts"
import { layer } from "../../infra/eventStore/sqliteEventStore.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { writeEvents } from "./sqliteWriter.ts"

const dir = mkdtempSync(join(tmpdir(), "umbra-sqlite-mp-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const writerScript = fileURLToPath(new URL("./sqliteWriter.ts", import.meta.url))
const perWriter = 1500
const sharedStream = "test-acme.shared"

/**
 * Runs the writer script in another OS process; resolves `ready` once it has the file open, and lets it
 * start appending when `go` completes.
 */
const spawnWriter = (file: string, writer: string, ready: Deferred.Deferred<void>, go: Deferred.Deferred<void>) =>
  Effect.callback<ReadonlyArray<string>, Error>((resume) => {
    const child = spawn(process.execPath, [writerScript, file, writer, String(perWriter), sharedStream], {
      stdio: ["pipe", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk
      if (out.startsWith("ready\n")) Deferred.doneUnsafe(ready, Effect.void)
    })
    Effect.runFork(Deferred.await(go).pipe(Effect.andThen(Effect.sync(() => child.stdin.end("go\n")))))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk))
    child.on("close", (code) =>
      code === 0
        ? resume(Effect.succeed(JSON.parse(out.slice("ready\n".length)) as ReadonlyArray<string>))
        : resume(Effect.fail(new Error(`writer exited with ${code}: ${err}`)))
    )
    return Effect.sync(() => child.kill())
  })

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
      const child = yield* Effect.forkChild(spawnWriter(file, "child", ready, go))
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
