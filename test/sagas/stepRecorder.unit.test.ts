import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
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
  it.effect("records a step in a new saga stream reading nothing; a recorder that never saw the stream finds a step recorded, or decides on the steps it reads", () =>
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
      const step = (recorder: Effect.Success<ReturnType<typeof makeStepRecorder<number>>>, input: StoredEvent) => recorder(stream, input.id, input, decide)

      const counts = { reads: 0, events: 0 }
      const first = yield* step(yield* makeStepRecorder(counting).pipe(Effect.provide(countingStore(counts))), connected!)
      assert.strictEqual(counts.reads, 0, "a new saga stream is not read")
      // As after a restart: nothing in memory. The redelivered input gets the commands recorded, not decided again.
      const restarted = yield* makeStepRecorder(counting)
      assert.deepStrictEqual(yield* step(restarted, connected!), first)
      yield* step(restarted, disconnected!)
      // A recorder that never saw the stream decides first as on a new one; the store refuses that append.
      assert.strictEqual(decidedOn.at(-1), 1, "the second step recorded was decided with the first folded in")
      const recorded = yield* (yield* EventStore).readStream(stream)
      assert.deepStrictEqual(recorded.map((e) => [e.type, e.revision]), [["SagaStepRecorded", 0], ["SagaStepRecorded", 1]])
    }).pipe(Effect.provide(memoryStore)))
})
