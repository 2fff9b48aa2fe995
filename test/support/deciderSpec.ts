import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { type CommandContext, type Decider, fold } from "../../domain/decider.ts"

const context: CommandContext = { tenant: "acme", at: "2026-11-30T12:00:00.000Z" }

/** given(events).when(command).then(events) | .thenFails(tag), for any decider. */
export const deciderSpec = <C, E, S>(decider: Decider<C, E, S>) => ({
  given: (history: ReadonlyArray<E>) => ({
    when: (command: C) => {
      const outcome = decider.decide(command, fold(decider, history), context).pipe(Effect.result)
      return {
        then: (expected: ReadonlyArray<E>) =>
          Effect.gen(function* () {
            const result = yield* outcome
            assert.strictEqual(result._tag, "Success", JSON.stringify(result))
            if (result._tag === "Success") assert.deepStrictEqual(result.success, expected)
          }),
        thenFails: (tag: string) =>
          Effect.gen(function* () {
            const result = yield* outcome
            assert.strictEqual(result._tag, "Failure", JSON.stringify(result))
            if (result._tag === "Failure") assert.strictEqual(result.failure._tag, tag)
          })
      }
    }
  })
})
