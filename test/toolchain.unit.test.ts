import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"

describe("toolchain", () => {
  it.effect("decodes with Effect 4 Schema", () =>
    Effect.gen(function* () {
      const n = yield* Schema.decodeUnknownEffect(Schema.Struct({ a: Schema.Int }))({ a: 1 })
      assert.strictEqual(n.a, 1)
      assert.isTrue(process.versions.node.startsWith("24"))
    }))
})
