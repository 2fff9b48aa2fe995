import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { make as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { logPages } from "../../src/replay/logPages.ts"
import { newEvent } from "../eventStore/conformance.ts"

describe("log pages", () => {
  it.effect("reads the log after a position up to another, a page at a time, and ends at the head", () =>
    Effect.gen(function* () {
      const store = yield* memoryStore
      for (let i = 0; i < 7; i++) yield* store.append(`test-acme.s${i % 2}`, "any", [newEvent({ n: i })])
      const log = yield* store.readAll()
      const pages = (options: Parameters<typeof logPages>[1]) =>
        Stream.runCollect(logPages(store, { ...options, pageSize: 3 })).pipe(Effect.map((all) => all.map((page) => page.map((e) => (e.data as { n: number }).n))))
      assert.deepStrictEqual(yield* pages({}), [[0, 1, 2], [3, 4, 5], [6]])
      assert.deepStrictEqual(yield* pages({ after: log[1]!.position }), [[2, 3, 4], [5, 6]])
      assert.deepStrictEqual(yield* pages({ after: log[1]!.position, through: log[4]!.position }), [[2, 3, 4]])
      assert.deepStrictEqual(yield* pages({ through: log[3]!.position }), [[0, 1, 2], [3]])
      assert.deepStrictEqual(yield* pages({ after: log[6]!.position }), [])
    }))
})
