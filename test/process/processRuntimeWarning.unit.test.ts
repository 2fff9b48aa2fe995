import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import { instanceRuntimeLayer } from "../../infra/serve/instanceRuntimeLayer.ts"

describe("the process runtime", () => {
  it.effect("says at start that it isolates nothing", () =>
    Effect.gen(function* () {
      const dataDir = mkdtempSync(join(tmpdir(), "umbra-warning-"))
      const warnings: Array<string> = []
      const capture = Logger.layer([Logger.make(({ logLevel, message }) => void (logLevel === "Warn" && warnings.push(String(message))))])
      yield* Layer.build(instanceRuntimeLayer("process", "nats://127.0.0.1:1", dataDir)).pipe(
        Effect.scoped,
        Effect.provide(capture),
        Effect.ensuring(Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      )
      assert.isTrue(warnings.some((warning) => warning.includes("isolates nothing")), warnings.join("\n"))
    }))
})
