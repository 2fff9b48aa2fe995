import { assert, layer } from "@effect/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { Effect, Layer, Logger } from "effect"
import { randomUUID } from "node:crypto"
import type { NewEvent } from "../../domain/envelope.ts"
import * as memoryEventStore from "../../infra/eventStore/memoryEventStore.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import * as jetstreamSetup from "../../infra/nats/jetstreamSetup.ts"
import * as natsEventBus from "../../infra/nats/natsEventBus.ts"
import { layer as memoryCheckpoints } from "../../infra/readModels/memoryCheckpoints.ts"
import { EventBus } from "../../src/eventBus.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { makeRelay } from "../../src/relay.ts"
import { natsTestLayer } from "../harness/natsServer.ts"
import { quietLogs } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"
import { audit, readEventLog } from "./eventLogAudit.ts"

const testLayer = Layer.mergeAll(
  memoryEventStore.layer,
  memoryCheckpoints,
  natsEventBus.layer({ publishWindow: 100 }).pipe(Layer.provideMerge(jetstreamSetup.layer()))
).pipe(Layer.provideMerge(natsTestLayer), Layer.provide(quietLogs))

const profiles = 3
const perProfile = 20
/** The one event UMBRA_EVENTS refuses while it takes messages of 4 KiB at most: the 31st of 60. */
const refused = 30

const refinement = (n: number): NewEvent => ({
  id: randomUUID(),
  type: "ProfileRefined",
  at: new Date(0).toISOString(),
  tenant: "acme",
  correlationId: randomUUID(),
  causationId: randomUUID(),
  schemaVersion: 1,
  data: { n, reason: n === refused ? "x".repeat(8_192) : "forecast" }
})

/** The relay's log lines: the message and the fields of each. */
const captureLogs = () => {
  const lines: Array<{ readonly level: string; readonly text: string; readonly fields: Record<string, unknown> }> = []
  const logger = Logger.make(({ message, logLevel }) => {
    const parts = Array.isArray(message) ? message : [message]
    lines.push({
      level: logLevel,
      text: parts.filter((part) => typeof part === "string").join(" "),
      fields: Object.assign({}, ...parts.filter((part) => typeof part === "object" && part !== null))
    })
  })
  return { lines, layer: Logger.layer([logger]) }
}

const setMaxMessageSize = (bytes: number) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    yield* Effect.promise(async () => {
      const jsm = await jetstreamManager(nc)
      const { config } = await jsm.streams.info(jetstreamSetup.streamNames.events)
      await jsm.streams.update(jetstreamSetup.streamNames.events, { ...config, max_msg_size: bytes })
    })
  })

layer(testLayer, { excludeTestServices: true, timeout: "60 seconds" })("the relay when JetStream refuses an event in the middle of a window", (it) => {
  it.effect("stores no later event before it, reports the failure and its lag, then publishes every event once and in order", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      // Three aggregates interleaved, so the refused event has later ones of its own subject in the window.
      for (let n = 0; n < profiles * perProfile; n++) yield* store.append(`profile-acme.p${n % profiles}`, "any", [refinement(n)])
      const stored = yield* store.readAll()
      yield* setMaxMessageSize(4_096)

      const relay = yield* makeRelay
      const logs = captureLogs()
      yield* Effect.forkScoped(relay.run.pipe(Effect.provide(logs.layer)))
      // After its first failure the relay publishes in growing slices, so its checkpoint reaches the refused event.
      yield* eventually(relay.status.pipe(Effect.map((s) => s.failing && s.published === refused)), 20_000, "the relay stuck at the refused event")
      const failing = yield* relay.health
      assert.match(failing.lastError?.message ?? "", /maximum|size/i)
      assert.strictEqual(failing.checkpoint, stored[refused - 1]!.position, "the checkpoint is the last event JetStream stored")
      assert.deepStrictEqual({ pending: failing.lag.pending, capped: failing.lag.capped }, { pending: stored.length - refused, capped: false })
      assert.deepStrictEqual(
        (yield* readEventLog).map((message) => message.id),
        stored.slice(0, refused).map((event) => event.id),
        "JetStream holds only the events before the refused one"
      )

      const failure = logs.lines.find((line) => line.text.startsWith("relay failed"))
      assert.strictEqual(failure?.level, "Warn")
      assert.match(String(failure?.fields["error"]), /maximum|size/i)
      assert.isAbove(Number(failure?.fields["lag"]), 0)

      yield* setMaxMessageSize(-1)
      yield* eventually(relay.status.pipe(Effect.map((s) => !s.failing && s.published === stored.length)), 20_000, "the relay caught up")
      const recovered = yield* relay.health
      assert.strictEqual(recovered.lag.pending, 0)
      assert.strictEqual(recovered.checkpoint, stored[stored.length - 1]!.position)
      assert.isDefined(recovered.lastError, "the last error stays on record")
      assert.isAtLeast(recovered.progressAtMs, recovered.lastError!.atMs)

      const recovery = logs.lines.find((line) => line.text === "relay recovered")
      assert.strictEqual(recovery?.level, "Warn")
      assert.isNumber(recovery?.fields["lag"])
      assert.match(String(recovery?.fields["error"]), /maximum|size/i, "it names what it recovered from")

      const logged = yield* readEventLog
      assert.deepStrictEqual(audit(stored, logged), { duplicates: 0, lost: 0, outOfOrder: 0, orphans: 0 })
      assert.deepStrictEqual(logged.map((message) => message.id), stored.map((event) => event.id), "in the store's order")
    }))

  it.effect("is not stuck when JetStream already holds an event without the ones before it (left by an older relay)", () =>
    Effect.gen(function* () {
      const store = yield* EventStore
      for (let n = 0; n < 10; n++) yield* store.append("profile-acme.q0", "any", [refinement(n)])
      const stored = (yield* store.readAll()).filter((event) => event.stream === "profile-acme.q0")
      yield* (yield* EventBus).publishEvents([stored[5]!])

      // Publishing 6 after 5 expects 5 to be the last message stored, which it is not: the relay's slices of
      // one publish 6 with no expectation.
      const relay = yield* makeRelay
      yield* Effect.forkScoped(relay.run)
      yield* eventually(relay.status.pipe(Effect.map((s) => !s.failing && s.published === stored.length)), 20_000, "the relay past the older event")
      const logged = (yield* readEventLog).filter((message) => message.subject === "umbra.evt.acme.profile.q0")
      assert.deepStrictEqual(audit(stored, logged), { duplicates: 0, lost: 0, outOfOrder: 1, orphans: 0 }, "only the older relay's event out of order")
    }))
})
