import { assert, layer } from "@effect/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { Effect, Schedule } from "effect"
import { randomUUID } from "node:crypto"
import { parseStreamName } from "../../domain/streams.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { EventStore } from "../../src/eventStore/eventStore.ts"
import { NatsTestServer } from "../harness/natsServer.ts"
import { audit, readEventLog } from "../nats/eventLogAudit.ts"
import { controlPlaneTestLayer, send } from "../support/controlPlane.ts"
import { eventually } from "../support/eventually.ts"

const warmUpClients = 20
const clientsWhileFull = 300
/** Room left on the server once it is restarted with a small store: a few dozen events at most. */
const headroomBytes = 48 * 1024

/** ConnectClient, sent again with the same command id while the bus reconnects (a repeat appends nothing). */
const connect = (clientId: string) =>
  send("acme", "ConnectClient", { clientId, tier: "basic" }, randomUUID(), 2_000).pipe(
    Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo({ times: 50 })))
  )

const connectAll = (prefix: string, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => connect(`${prefix}${i}`)), (reply) => reply, { concurrency: 8 }).pipe(
    Effect.map((replies) => replies.filter((reply) => reply.ok).length)
  )

/** The store's decisions: what the relay has to put on UMBRA_EVENTS. */
const decisions = Effect.gen(function* () {
  const events = yield* (yield* EventStore).readAll()
  return events.filter((event) => !["heartbeat", "telemetry"].includes(parseStreamName(event.stream)?.category ?? ""))
})

/** Every decision is on JetStream and the connect saga has nothing left to add (false while NATS restarts). */
const settled = Effect.gen(function* () {
  const stored = yield* decisions
  const logged = yield* readEventLog
  const count = (type: string) => stored.filter((event) => event.type === type).length
  return logged.length === stored.length && count("ClientConnected") === count("ProfileCreated")
}).pipe(Effect.orElseSucceed(() => false))

const storageInUse = Effect.gen(function* () {
  const nc = yield* NatsConnection
  return yield* Effect.promise(async () => (await (await jetstreamManager(nc)).getAccountInfo()).storage)
})

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "180 seconds" })("fault: JetStream full", (it) => {
  it.effect("commands stay acknowledged while the store fills up; once it has room every event reaches UMBRA_EVENTS once and in order", () =>
    Effect.gen(function* () {
      const server = yield* NatsTestServer
      let acked = yield* connectAll("warm", warmUpClients)
      yield* eventually(settled, 30_000, "the warm-up clients' events on JetStream")

      yield* server.restartWith({ maxFileStore: (yield* storageInUse) + headroomBytes })
      acked += yield* connectAll("full", clientsWhileFull)
      assert.strictEqual(acked, warmUpClients + clientsWhileFull, "every command is acknowledged: its decision is in the store")
      const whileFull = (yield* readEventLog).length
      assert.isBelow(whileFull, (yield* decisions).length, "JetStream ran out of room")

      yield* server.restartWith({})
      yield* eventually(settled, 90_000, "every decision on JetStream once it has room")
      const stored = yield* decisions
      const logged = yield* readEventLog
      const { duplicates, lost, outOfOrder, orphans } = audit(stored, logged)
      console.log(
        `jetstream-full: commands acked ${acked}, events in store ${stored.length}, on JetStream ${logged.length}, ` +
          `duplicates ${duplicates}, lost ${lost}, out of order ${outOfOrder}, orphans ${orphans}`
      )
      assert.deepStrictEqual({ duplicates, lost, outOfOrder, orphans }, { duplicates: 0, lost: 0, outOfOrder: 0, orphans: 0 })
    }))
})
