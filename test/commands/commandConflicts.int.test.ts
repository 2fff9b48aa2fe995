import { afterAll, assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Ref } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { StoredEvent } from "../../domain/envelope.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { spawnWriter } from "../support/childProcess.ts"
import { command } from "../support/commands.ts"
import { racingStore } from "../support/racingStore.ts"
import { refineMany } from "./refineWriter.ts"

const dir = mkdtempSync(join(tmpdir(), "umbra-conflicts-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const writerScript = fileURLToPath(new URL("./refineWriter.ts", import.meta.url))

/** The profile stream holds ProfileCreated, then each refinement once, at revisions 0, 1, 2, … */
const assertEachOnce = (stream: ReadonlyArray<StoredEvent>, commandIds: ReadonlyArray<string>) => {
  assert.deepStrictEqual(stream.map((e) => e.revision), Array.from({ length: commandIds.length + 1 }, (_, i) => i))
  const causes = stream.slice(1).map((e) => e.causationId)
  assert.strictEqual(new Set(causes).size, causes.length, "no command's events appended twice")
  assert.deepStrictEqual(new Set(causes), new Set(commandIds))
}

/** Two command handlers, each with its own in-process lock, as two nodes of Umbra would have. */
const twoHandlers = Effect.gen(function* () {
  const build = Layer.build(Layer.fresh(CommandHandler.layer))
  const [first, second] = [yield* build, yield* build]
  return [first, second].map((context) => (writer: string, count: number, base: number) => refineMany(writer, count, base).pipe(Effect.provideContext(context)))
})

describe("two command handlers racing on one stream", () => {
  it.live("in one process, without a shared lock: the retry resolves every conflict", () =>
    Effect.gen(function* () {
      const conflicts = yield* Ref.make(0)
      yield* Effect.gen(function* () {
        const [a, b] = yield* twoHandlers
        yield* CommandHandler.use((handler) => handler.handle(command("CreateProfile", { clientId: "c1", tier: "basic" })))
        const [ours, theirs] = yield* Effect.all([a!("a", 25, 1_000), b!("b", 25, 5_000)], { concurrency: 2 })
        assertEachOnce(yield* EventStore.use((store) => store.readStream("profile-acme.c1")), [...ours, ...theirs])
      }).pipe(
        Effect.provide(CommandHandler.layer.pipe(Layer.provideMerge(racingStore(2, conflicts)), Layer.provideMerge(memoryStore)))
      )
      assert.isAbove(yield* Ref.get(conflicts), 0, "the handlers met conflicts, so the retry was exercised")
    }))

  it.live("in two OS processes on one SQLite file: the retry resolves every conflict", () =>
    Effect.gen(function* () {
      const file = join(dir, "events.db")
      const conflicts = yield* Ref.make(0)
      const count = 100
      yield* Effect.gen(function* () {
        yield* CommandHandler.use((handler) => handler.handle(command("CreateProfile", { clientId: "c1", tier: "basic" })))
        const ready = yield* Deferred.make<void>()
        const go = yield* Deferred.make<void>()
        const child = yield* Effect.forkChild(
          spawnWriter<{ readonly commandIds: ReadonlyArray<string>; readonly conflicts: number }>(writerScript, [file, "child", String(count), "5000"], ready, go)
        )
        yield* Deferred.await(ready)
        yield* Deferred.succeed(go, undefined)
        const ours = yield* refineMany("parent", count, 1_000)
        const theirs = yield* Fiber.join(child)
        yield* Ref.update(conflicts, (n) => n + theirs.conflicts)
        assertEachOnce(yield* EventStore.use((store) => store.readStream("profile-acme.c1")), [...ours, ...theirs.commandIds])
      }).pipe(Effect.provide(CommandHandler.layer.pipe(Layer.provideMerge(racingStore(2, conflicts)), Layer.provideMerge(layerFile(file)))))
      assert.isAbove(yield* Ref.get(conflicts), 0, "the processes met conflicts, so the retry was exercised")
    }), 60_000)
})
