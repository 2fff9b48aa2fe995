import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { loadDemandTraces, tracesDir } from "../../infra/demo/telemetryTrace.ts"

const inRange = (shares: ReadonlyArray<number>) => shares.every((share) => share >= 0 && share <= 1)

describe("the demo's demand traces", () => {
  it.effect("without the traces folder: synthetic ones, said so, one per client, shares in 0..1, the same every run", () =>
    Effect.gen(function* () {
      const missing = join(tracesDir, "no-such-folder")
      const first = yield* loadDemandTraces(3, 144, missing)
      assert.strictEqual(first.source, "synthetic")
      assert.include(first.description, missing)
      assert.deepStrictEqual(first.traces.map((t) => t.shares.length), [144, 144, 144])
      assert.isTrue(first.traces.every((t) => inRange(t.shares)))
      assert.notDeepEqual(first.traces[0]!.shares, first.traces[1]!.shares)
      assert.deepStrictEqual(yield* loadDemandTraces(3, 144, missing), first)
    }))

  it.effect.skipIf(!existsSync(join(tracesDir, "nab")))("with ../shared/traces: the real NAB series, their last steps, as shares", () =>
    Effect.gen(function* () {
      const real = yield* loadDemandTraces(3, 288)
      assert.strictEqual(real.source, "real")
      assert.deepStrictEqual(real.traces.map((t) => t.shares.length), [288, 288, 288])
      assert.isTrue(real.traces.every((t) => inRange(t.shares) && t.shares.some((share) => share > 0.05)), "a level a shadow can show")
    }))
})
