import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { makeCommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { defaultFoldLimits } from "../../src/eventStore/foldedStreams.ts"
import { command } from "../support/commands.ts"

const resources = fc.record(
  { cpuMillis: fc.integer({ min: 1, max: 9_000 }), memoryMiB: fc.integer({ min: 1, max: 20_000 }), storageGiB: fc.integer({ min: 1, max: 300 }) },
  { requiredKeys: [] }
)
const tier = fc.constantFrom("basic", "standard", "premium")
/** Commands on one client's profile, in any order: some refused, some deciding nothing, most deciding. */
const profileCommand = fc.oneof(
  tier.map((tier) => ["CreateProfile", { clientId: "c1", tier }] as const),
  resources.map((expected) => ["RefineProfile", { clientId: "c1", expected, reason: "by hand" }] as const),
  resources.map((expected) => ["ScaleProfile", { clientId: "c1", expected, reason: "forecast" }] as const),
  fc.constantFrom("a", "b").map((image) => ["SetTemplate", { clientId: "c1", template: { image, dependencies: [], statePaths: [], settings: {} } }] as const)
)

/** The profile stream a handler leaves after `commands`: one handler for them all, or a cold one for each. */
const streamAfter = (commands: ReadonlyArray<readonly [string, unknown]>, cold: boolean) =>
  Effect.gen(function* () {
    let handler = yield* makeCommandHandler(defaultFoldLimits)
    for (const [index, [type, data]] of commands.entries()) {
      if (cold) handler = yield* makeCommandHandler(defaultFoldLimits)
      yield* handler.handle(command(type, data, `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`)).pipe(Effect.ignore)
    }
    return (yield* (yield* EventStore).readStream("profile-acme.c1")).map((event) => [event.type, event.data])
  }).pipe(Effect.provide(memoryStore))

describe("state folded from the handler's own decisions", () => {
  it.effect("decides as the state folded from the store would: a handler warm on its own appends writes the stream a cold handler per command writes", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.array(profileCommand, { maxLength: 12 }), async (commands) => {
          const [warm, cold] = await Effect.runPromise(Effect.all([streamAfter(commands, false), streamAfter(commands, true)]))
          assert.deepStrictEqual(warm, cold)
        }),
        { numRuns: 60 }
      )
    ))
})
