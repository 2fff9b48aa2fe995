import { afterAll, assert, describe, it } from "@effect/vitest"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { threadWriter } from "../../infra/eventStore/sqliteWriter.ts"

const dir = mkdtempSync(join(tmpdir(), "umbra-writer-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("SQLite writer thread", () => {
  it("prepared, starts before any write: the thread opens its file with nothing written", async () => {
    const file = join(dir, "prepared.db")
    const writer = threadWriter({ file, busyTimeoutMillis: 1_000 })
    try {
      writer.prepare()
      // The thread opening its connection is what creates the file: nothing else here touches it.
      for (let waited = 0; !existsSync(file) && waited < 30_000; waited += 20) await sleep(20)
      assert.isTrue(existsSync(file))
      assert.deepStrictEqual(await writer.write([]), [])
    } finally {
      await writer.close()
    }
  })
})
