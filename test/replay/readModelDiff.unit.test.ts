import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import type { Position } from "../../domain/envelope.ts"
import { put } from "../../projections/projection.ts"
import type { Projection } from "../../projections/projection.ts"
import { ProjectionStore } from "../../src/projections/projectionStore.ts"
import { diffReadModels } from "../../src/replay/readModelDiff.ts"
import { readModelsLayer } from "./scenario.ts"

const rowsInMemory = Layer.build(readModelsLayer(":memory:")).pipe(Effect.map((context) => Context.get(context, ProjectionStore)))
const projection = (name: string): Projection => ({ name, version: 1, handles: new Set(), apply: () => [] })
const through = "00000000000000000001" as Position

describe("read-model diff", () => {
  it.effect("compares rows as JSON values whatever their keys' order, and lists what one side lacks", () =>
    Effect.gen(function* () {
      const [live, rebuilt] = [yield* rowsInMemory, yield* rowsInMemory]
      yield* live.apply("p", 1, [put("a", { x: 1, y: [1, 2] }), put("b", { n: 1 }), put("c", "only live")], through)
      yield* rebuilt.apply("p", 1, [put("a", { y: [1, 2], x: 1 }), put("b", { n: 2 }), put("d", null)], through)
      yield* rebuilt.apply("q", 1, [put("k", [2, 1])], through)
      yield* live.apply("q", 1, [put("k", [1, 2])], through)
      assert.deepStrictEqual(yield* diffReadModels(live, rebuilt, [projection("p"), projection("q")]), [
        { projection: "p", key: "b", live: { n: 1 }, rebuilt: { n: 2 } },
        { projection: "p", key: "c", live: "only live", rebuilt: undefined },
        { projection: "p", key: "d", live: undefined, rebuilt: null },
        { projection: "q", key: "k", live: [1, 2], rebuilt: [2, 1] }
      ])
      assert.deepStrictEqual(yield* diffReadModels(live, live, [projection("p"), projection("q")]), [])
    }))
})
