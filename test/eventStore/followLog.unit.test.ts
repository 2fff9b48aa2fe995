import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import type { Position, StoredEvent } from "../../domain/envelope.ts"
import { followLog } from "../../infra/eventStore/followLog.ts"

const position = (n: number) => String(n).padStart(20, "0") as Position
const event = (n: number) => ({ position: position(n) }) as StoredEvent

describe("followLog", () => {
  it.effect("reads full pages back to back, and after a short one waits for news before reading again", () =>
    Effect.gen(function* () {
      let head = 5
      const calls: Array<string> = []
      const events = yield* followLog({
        after: undefined,
        pageSize: 2,
        readPage: (after, limit) =>
          Effect.sync(() => {
            const from = after === undefined ? 0 : Number(after)
            calls.push(`read ${from}`)
            return Array.from({ length: Math.max(0, Math.min(limit, head - from)) }, (_, i) => event(from + i + 1))
          }),
        awaitNewer: (after) =>
          Effect.sync(() => {
            calls.push(`wait ${Number(after)}`)
            head += 2
          })
      }).pipe(Stream.take(8), Stream.runCollect)
      assert.deepStrictEqual(events.map((e) => Number(e.position)), [1, 2, 3, 4, 5, 6, 7, 8])
      // The page after 4 is short (1 of 2): a wait comes before the next read. A full page may end at the
      // head: only then does a read find nothing before the wait.
      assert.deepStrictEqual(calls, ["read 0", "read 2", "read 4", "wait 5", "read 5", "read 7", "wait 7", "read 7"])
    }))
})
