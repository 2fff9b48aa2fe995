import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule, Stream } from "effect"
import { extractInto } from "../../infra/process/stateDirectory.ts"
import { archiveOf } from "../support/stateArchives.ts"

describe("a state import", () => {
  it.live("keeps every directory closed to others' writes until its last entry, then gives the modes back", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "umbra-import-"))
      const archive = yield* archiveOf([
        { name: "./", type: "directory", mode: 0o755 },
        { name: "./open/", type: "directory", mode: 0o777 },
        { name: "./open/a.txt", content: "a" }
      ])
      // The root's and `open/`'s headers first; the rest once `open/` is on disk, its mode seen meanwhile.
      let during = -1
      let after = -1
      const seen = Effect.sync(() => existsSync(join(dir, "open"))).pipe(
        Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (exists) => exists, times: 500 }),
        Effect.andThen(Effect.sync(() => void (during = statSync(join(dir, "open")).mode & 0o777)))
      )
      const source = Stream.make(archive.subarray(0, 1024)).pipe(
        Stream.concat(Stream.fromEffect(seen).pipe(Stream.drain)),
        Stream.concat(Stream.make(archive.subarray(1024)))
      )
      yield* extractInto("shd-1", dir, source).pipe(Effect.ensuring(Effect.sync(() => void (after = statSync(join(dir, "open")).mode & 0o777))))
      rmSync(dir, { recursive: true, force: true })
      assert.strictEqual(during, 0o755)
      assert.strictEqual(after, 0o777)
    }))
})
