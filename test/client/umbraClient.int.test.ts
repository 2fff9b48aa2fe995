import { assert, layer } from "@effect/vitest"
import { jetstream } from "@nats-io/jetstream"
import { connect, credsAuthenticator, type Msg, type NatsConnection } from "@nats-io/transport-node"
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { authPaths } from "../../infra/natsAuth/authDirectory.ts"
import { queryNames } from "../../infra/client/clientQueries.ts"
import {
  BusError,
  CommandRejected,
  EventUnreadable,
  QueryRejected,
  UmbraClient,
  type UmbraEvent
} from "../../infra/client/umbraClient.ts"
import { ServedTenants, servedTenantsLayer } from "./servedTenants.ts"

type Served = ServedTenants["Service"]

/** What a promise rejects with (a test failure when it resolves). */
const rejection = (promise: Promise<unknown>) =>
  promise.then((value) => assert.fail(`expected a rejection, got ${JSON.stringify(value)}`), (error: unknown) => error)

/** A client of the scope, closed with it. */
const clientOf = (options: Parameters<typeof UmbraClient.connect>[0]) =>
  Effect.acquireRelease(Effect.promise(() => UmbraClient.connect(options)), (client) => Effect.promise(() => client.close()))

const tenantClient = (served: Served, tenant: "acme" | "beta") => clientOf({ creds: served.creds[tenant], dataDir: served.dataDir })

/** A plain nats.js connection as Umbra itself (its credentials in the data directory), for what a test watches or forges. */
const asUmbra = (served: Served) =>
  Effect.acquireRelease(
    Effect.promise(() => connect({ servers: served.natsUrl, authenticator: credsAuthenticator(readFileSync(authPaths(served.dataDir).umbraCreds)) })),
    (nc) => Effect.promise(() => nc.close())
  )

/** The events of `feed` up to and including the first that `last` accepts (at most `limit`). */
const eventsUntil = async (feed: AsyncIterable<UmbraEvent>, last: (event: UmbraEvent) => boolean, limit = 1_000) => {
  const seen: Array<UmbraEvent> = []
  for await (const event of feed) {
    seen.push(event)
    if (last(event) || seen.length >= limit) break
  }
  return seen
}

const isOf = (type: string, clientId: string) => ({ event }: UmbraEvent) => event._tag === type && "clientId" in event && event.clientId === clientId

layer(servedTenantsLayer, { excludeTestServices: true, timeout: "120 seconds" })("UmbraClient against umbra serve", (it) => {
  it.effect("a command's reply is typed, a repeat is a duplicate, and a refusal is a CommandRejected with the server's tag", () =>
    Effect.gen(function* () {
      const acme = yield* tenantClient(yield* ServedTenants, "acme")
      assert.strictEqual(acme.tenant, "acme")
      const commandId = randomUUID()
      const connected = yield* Effect.promise(() => acme.send("ConnectClient", { clientId: "c1", tier: "basic" }, { commandId }))
      assert.deepStrictEqual(
        connected.events.map(({ type, stream, revision }) => ({ type, stream, revision })),
        [{ type: "ClientConnected", stream: "client-acme.c1", revision: 0 }]
      )
      const again = yield* Effect.promise(() => acme.send("ConnectClient", { clientId: "c1", tier: "basic" }, { commandId }))
      assert.isTrue(again.duplicate)
      assert.deepStrictEqual(again.events.map((event) => event.id), connected.events.map((event) => event.id))

      const refused = yield* Effect.promise(() => rejection(acme.send("ConnectClient", { clientId: "c1", tier: "basic" })))
      assert.instanceOf(refused, CommandRejected)
      assert.strictEqual(refused.tag, "IllegalState")
      assert.isTrue(refused.sent)

      // RequestProduction may leave out its launch id (the command id) and priority, as the server fills them in.
      const requested = yield* Effect.promise(() => acme.send("RequestProduction", { clientId: "c1" }))
      assert.deepStrictEqual(requested.events.map((event) => event.stream), [`launch-acme.${requested.commandId}`])
      const launch = yield* Effect.promise(() => acme.query("Launch", { launchId: requested.commandId }))
      assert.strictEqual(launch.clientId, "c1")
      const profile = yield* Effect.promise(() => acme.query("Profile", { clientId: "c1" }))
      assert.strictEqual(profile.tier, "basic")
      const missing = yield* Effect.promise(() => rejection(acme.query("Profile", { clientId: "nobody" })))
      assert.instanceOf(missing, QueryRejected)
      assert.strictEqual(missing.tag, "NotFound")
    }))

  it.effect("the client knows every query the gateway serves", () =>
    Effect.gen(function* () {
      const umbra = yield* asUmbra(yield* ServedTenants)
      const reply = yield* Effect.promise(() => umbra.request("umbra.query.acme.NoSuchQuery", "{}"))
      assert.deepStrictEqual(reply.json<{ error: { details: { known: Array<string> } } }>().error.details.known, [...queryNames])
    }))

  it.effect("data the server would refuse is refused before it is sent, with the server's tag", () =>
    Effect.gen(function* () {
      const served = yield* ServedTenants
      const acme = yield* tenantClient(served, "acme")
      const umbra = yield* asUmbra(served)
      const sent: Array<string> = []
      const spies = ["umbra.cmd.acme.>", "umbra.query.acme.>"].map((subject) =>
        umbra.subscribe(subject, { callback: (_error, msg: Msg) => void sent.push(msg.subject) })
      )
      yield* Effect.promise(() => umbra.flush())

      // @ts-expect-error the tiers are basic, standard and premium
      const badTier = yield* Effect.promise(() => rejection(acme.send("ConnectClient", { clientId: "c2", tier: "gold" })))
      const badId = yield* Effect.promise(() => rejection(acme.send("ConnectClient", { clientId: "Not A Token", tier: "basic" })))
      const badCommandId = yield* Effect.promise(() => rejection(acme.send("DisconnectClient", { clientId: "c2" }, { commandId: "not-a-uuid" })))
      const badQuery = yield* Effect.promise(() => rejection(acme.query("Forecast", { clientId: "c2", from: 2, to: 1 })))
      for (const [error, tag] of [[badTier, "ValidationFailed"], [badId, "ValidationFailed"], [badCommandId, "MalformedRequest"]] as const) {
        assert.instanceOf(error, CommandRejected)
        assert.strictEqual(error.tag, tag)
        assert.isFalse(error.sent)
      }
      assert.instanceOf(badQuery, QueryRejected)
      assert.strictEqual(badQuery.tag, "ValidationFailed")
      assert.isFalse(badQuery.sent)

      // The next good command is the first command or query of acme's that NATS ever carried.
      yield* Effect.promise(() => acme.send("ConnectClient", { clientId: "c2", tier: "premium" }))
      yield* Effect.promise(() => umbra.flush())
      for (const spy of spies) spy.unsubscribe()
      assert.deepStrictEqual(sent, ["umbra.cmd.acme.ConnectClient"])
    }))

  it.effect("another tenant's credentials can neither command, query nor read acme, and its own feed holds none of acme's events", () =>
    Effect.gen(function* () {
      const served = yield* ServedTenants
      const acme = yield* tenantClient(served, "acme")
      yield* Effect.promise(() => acme.send("ConnectClient", { clientId: "secret", tier: "basic" }))
      const betaAsAcme = yield* clientOf({ creds: served.creds.beta, dataDir: served.dataDir, tenant: "acme", timeoutMs: 5_000 })

      const command = yield* Effect.promise(() => rejection(betaAsAcme.send("DisconnectClient", { clientId: "secret" })))
      const query = yield* Effect.promise(() => rejection(betaAsAcme.query("Profile", { clientId: "secret" })))
      const read: Array<UmbraEvent> = []
      const follow = yield* Effect.promise(() =>
        rejection((async () => {
          for await (const event of betaAsAcme.events({ from: "start" })) read.push(event)
        })())
      )
      for (const error of [command, query, follow]) {
        assert.instanceOf(error, BusError)
        assert.strictEqual(error.tag, "NotPermitted", error.message)
      }
      assert.deepStrictEqual(read, [])

      // Beta's own feed from the start, up to the event of beta's own command: acme's events came before it, and none is there.
      const beta = yield* tenantClient(served, "beta")
      yield* Effect.promise(() => beta.send("ConnectClient", { clientId: "b1", tier: "basic" }))
      const betaEvents = yield* Effect.promise(() => eventsUntil(beta.events({ from: "start" }), isOf("ClientConnected", "b1")))
      assert.isTrue(betaEvents.some(isOf("ClientConnected", "b1")))
      assert.deepStrictEqual([...new Set(betaEvents.map(({ envelope }) => envelope.tenant))], ["beta"])
      // And acme's client is still connected: the refused DisconnectClient never arrived.
      assert.strictEqual((yield* Effect.promise(() => acme.query("Tenant"))).clients.connected >= 1, true)
      const secret = yield* Effect.promise(() => acme.query("Profile", { clientId: "secret" }))
      assert.strictEqual(secret.clientId, "secret")
    }))

  it.effect("follows events from a stream sequence, decoded through the upcasters, and refuses one it cannot read", () =>
    Effect.gen(function* () {
      const served = yield* ServedTenants
      const acme = yield* tenantClient(served, "acme")
      yield* Effect.promise(() => acme.send("ConnectClient", { clientId: "c-pos", tier: "standard" }))
      const fromStart = yield* Effect.promise(() => eventsUntil(acme.events({ from: "start" }), isOf("ProfileCreated", "c-pos")))
      const created = fromStart.at(-1)!
      assert.strictEqual(created.event._tag, "ProfileCreated")
      if (created.event._tag === "ProfileCreated") assert.strictEqual(created.event.expected.cpuMillis, 2000)
      const connected = fromStart.find(isOf("ClientConnected", "c-pos"))!
      const fromThere = yield* Effect.promise(() => eventsUntil(acme.events({ from: connected.seq }), isOf("ProfileCreated", "c-pos")))
      assert.strictEqual(fromThere[0]!.seq, connected.seq)
      assert.strictEqual(fromThere.at(-1)!.envelope.id, created.envelope.id)

      // A ProfileRefined as version 1 wrote it (before it said who refined), and a type no Umbra knows.
      const umbra = yield* asUmbra(served)
      const old = yield* publishEnvelope(umbra, "profile", "c-pos", "ProfileRefined", 1, {
        clientId: "c-pos",
        expected: { cpuMillis: 1500, memoryMiB: 2048, storageGiB: 20 },
        previous: { cpuMillis: 2000, memoryMiB: 4096, storageGiB: 50 },
        reason: "by hand"
      })
      const unknown = yield* publishEnvelope(umbra, "profile", "c-pos", "ProfileRenamed", 1, { clientId: "c-pos" })
      const [refined] = yield* Effect.promise(() => eventsUntil(acme.events({ from: old }), () => true))
      assert.strictEqual(refined!.envelope.schemaVersion, 1)
      assert.deepStrictEqual(refined!.event._tag === "ProfileRefined" && refined!.event.source, "manual")
      const unreadable = yield* Effect.promise(() => rejection(eventsUntil(acme.events({ from: unknown }), () => true)))
      assert.instanceOf(unreadable, EventUnreadable)
      assert.strictEqual(unreadable.seq, unknown)
    }))

  it.effect("follows live events, and close() ends a subscription that waits", () =>
    Effect.gen(function* () {
      const served = yield* ServedTenants
      const acme = yield* tenantClient(served, "acme")
      const live = acme.events()[Symbol.asyncIterator]()
      const first = live.next()
      // The consumer starts with the first next(): commands go until one of their events arrives (bounded).
      const sent: Array<string> = []
      for (let i = 0; i < 20 && !(yield* Effect.promise(() => settledWithin(first, 500))); i++) {
        const clientId = `c-live-${i}`
        yield* Effect.promise(() => acme.send("ConnectClient", { clientId, tier: "basic" }))
        sent.push(clientId)
      }
      const arrived = yield* Effect.promise(() => first)
      assert.isFalse(arrived.done)
      const event = arrived.value as UmbraEvent
      assert.strictEqual(event.envelope.tenant, "acme")
      assert.include(sent, "clientId" in event.event ? event.event.clientId : "")
      yield* Effect.promise(async () => void (await live.return?.()))

      const other = yield* Effect.promise(() => UmbraClient.connect({ creds: served.creds.acme, dataDir: served.dataDir }))
      const waiting = other.events()[Symbol.asyncIterator]().next()
      yield* Effect.promise(() => other.close())
      assert.deepStrictEqual(yield* Effect.promise(() => waiting), { done: true, value: undefined })
      const afterClose = yield* Effect.promise(() => rejection(other.query("Fleet")))
      assert.instanceOf(afterClose, BusError)
      assert.strictEqual(afterClose.tag, "Closed")
    }))
})

/** Whether `promise` settles within `ms` (it is left running either way). */
const settledWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))])

/** Publishes an envelope to UMBRA_EVENTS as Umbra's relay would; its stream sequence. */
const publishEnvelope = (nc: NatsConnection, category: string, id: string, type: string, schemaVersion: number, data: unknown) =>
  Effect.promise(async () => {
    const eventId = randomUUID()
    const envelope = {
      id: eventId,
      type,
      stream: `${category}-acme.${id}`,
      revision: 99,
      position: "00000000000000099999",
      at: new Date().toISOString(),
      tenant: "acme",
      correlationId: eventId,
      causationId: eventId,
      schemaVersion,
      data
    }
    return (await jetstream(nc).publish(`umbra.evt.acme.${category}.${id}`, JSON.stringify(envelope), { msgID: eventId })).seq
  })
