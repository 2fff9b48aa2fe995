import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layerFile } from "../../infra/eventStore/sqliteEventStore.ts"
import { CommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { command } from "../support/commands.ts"

/**
 * The data directory on a small tmpfs (mounting needs root, as CI and these machines have): commands are
 * handled until the disk is full, fail with StoreUnavailable and store nothing while it is, and work again
 * once there is room.
 */
const mountPoint = mkdtempSync(join(tmpdir(), "umbra-full-"))
beforeAll(() => execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint]))
afterAll(() => {
  execFileSync("umount", [mountPoint])
  rmSync(mountPoint, { recursive: true, force: true })
})

/** Fills what is left of the file system with one file, which is removed to make room again. */
const fillDisk = (file: string) => {
  const fd = openSync(file, "w")
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (let i = 0; i < 1_000; i++) writeSync(fd, chunk)
    throw new Error("the tmpfs did not fill up")
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== "ENOSPC") throw cause
  } finally {
    closeSync(fd)
  }
}

const connect = (i: number) => command("ConnectClient", { clientId: `c${i}`, tier: "basic" })

describe("SQLite disk full", () => {
  it.live("a command gets StoreUnavailable and stores nothing; once there is room again, commands work", () =>
    Effect.gen(function* () {
      const handler = yield* CommandHandler
      const store = yield* EventStore
      let acked = 0
      for (let i = 0; i < 20; i++) {
        yield* handler.handle(connect(i))
        acked++
      }
      fillDisk(join(mountPoint, "filler"))
      // Bounded: a write that still fits in a page SQLite has already grown goes through; one soon does not.
      let refused = 0
      for (let i = 20; i < 2_000 && refused === 0; i++) {
        const exit = yield* Effect.exit(handler.handle(connect(i)))
        if (Exit.isSuccess(exit)) acked++
        else {
          assert.include(String(exit.cause), "StoreUnavailable")
          refused++
        }
      }
      assert.strictEqual(refused, 1)
      // Another command while the disk is still full: refused as well, nothing stored.
      const again = yield* Effect.exit(handler.handle(connect(5_000)))
      assert.isTrue(Exit.isFailure(again))
      assert.strictEqual((yield* store.readAll()).length, acked)

      rmSync(join(mountPoint, "filler"))
      for (let i = 5_000; i < 5_010; i++) {
        yield* handler.handle(connect(i))
        acked++
      }
      const stored = yield* store.readAll()
      assert.strictEqual(stored.length, acked)
      assert.strictEqual(new Set(stored.map((event) => event.id)).size, acked)
      console.log(`sqlite-disk-full: commands acked ${acked}, events in store ${stored.length}, refused while full ${refused + 1}, duplicates 0, lost 0`)
    }).pipe(Effect.provide(CommandHandler.layer.pipe(Layer.provideMerge(layerFile(join(mountPoint, "events.db")))))))
})
