import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import { type SagaFold, sagaStream } from "../../domain/sagas/saga.ts"
import { layer as memoryStore } from "../../infra/eventStore/memoryEventStore.ts"
import { makeCommandHandler } from "../../src/commands/commandHandler.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { defaultFoldLimits } from "../../src/eventStore/foldedStreams.ts"
import { makeStepRecorder } from "../../src/sagas/sagaSteps.ts"
import { command } from "../support/commands.ts"
import { countingStore } from "../support/countingStore.ts"

/** A saga whose state is the number of steps it recorded. */
const counting: SagaFold<number> = { name: "counting", initialState: 0, evolve: (steps) => steps + 1 }

describe("saga step recorder", () => {
  it.effect("records steps in a new saga stream reading nothing, each decided on the steps before it; a recorder that never saw the stream finds them recorded", () =>
    Effect.gen(function* () {
      const handler = yield* makeCommandHandler(defaultFoldLimits)
      const [connected] = (yield* handler.handle(command("ConnectClient", { clientId: "c1", tier: "basic" }))).events
      const [disconnected] = (yield* handler.handle(command("DisconnectClient", { clientId: "c1" }))).events
      const decidedOn: Array<number> = []
      const decide = (steps: number) =>
        Effect.sync(() => {
          decidedOn.push(steps)
          return [command("DisconnectClient", { clientId: "c1" }).command]
        })
      const stream = sagaStream(counting.name, "acme", "c1")
      const step = (recorder: Effect.Success<ReturnType<typeof makeStepRecorder<number>>>, input: StoredEvent) =>
        Effect.flatMap(decodeEvent(input), (event) => recorder(stream, input.id, input, event, decide))

      const counts = { reads: 0, events: 0 }
      const here = yield* makeStepRecorder(counting).pipe(Effect.provide(countingStore(counts)))
      const first = yield* step(here, connected!)
      const second = yield* step(here, disconnected!)
      assert.strictEqual(counts.reads, 0, "a new saga stream is not read, nor one this recorder keeps folded")
      assert.deepStrictEqual(decidedOn, [0, 1], "the second step decided with the first folded in")
      // As after a restart: nothing in memory. Redelivered inputs get the commands recorded, not decided again.
      const restarted = yield* makeStepRecorder(counting)
      assert.deepStrictEqual(yield* step(restarted, connected!), first)
      assert.deepStrictEqual(yield* step(restarted, disconnected!), second)
      const recorded = yield* (yield* EventStore).readStream(stream)
      assert.deepStrictEqual(recorded.map((e) => [e.type, e.revision]), [["SagaStepRecorded", 0], ["SagaStepRecorded", 1]])
    }).pipe(Effect.provide(memoryStore)))
})
