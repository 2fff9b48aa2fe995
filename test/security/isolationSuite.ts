import { assert, layer } from "@effect/vitest"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node"
import { Context, Effect, Fiber, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"
import type { NatsConnectionOptions } from "../../infra/nats/connection.ts"
import { tenantInboxPrefix, tenantJsApiPrefix } from "../../infra/nats/tenantConnection.ts"
import { controlPlaneLayer, startControlPlane } from "../../infra/serve/controlPlane.ts"
import { quietLogs, testConfig } from "../support/controlPlane.ts"

export type Tenant = "acme" | "beta"
export type Principal = Tenant | "umbra"

/** A NATS server with users: how each principal connects, and Umbra's own connection options. */
export class SecuredServer extends Context.Service<SecuredServer, {
  readonly url: string
  /** The control plane's data directory. */
  readonly dataDir: string
  readonly umbra: Omit<NatsConnectionOptions, "url" | "name">
  readonly credentials: (who: Principal) => Partial<ConnectionOptions>
}>()("umbra/test/SecuredServer") {}

/** A tenant's connection options: its credentials and its own inbox prefix. */
export const tenantConnection = (tenant: Tenant, credentials: Partial<ConnectionOptions>): Partial<ConnectionOptions> => ({
  ...credentials,
  inboxPrefix: tenantInboxPrefix(tenant)
})

/** An ordinary nats.js client, as `who` would connect (a tenant with its own inbox prefix). */
const connectAs = (who: Principal) =>
  Effect.gen(function* () {
    const secured = yield* SecuredServer
    return yield* Effect.acquireRelease(
      Effect.promise(() => connect({ servers: secured.url, maxReconnectAttempts: 0, ...secured.credentials(who) })),
      (nc) => Effect.promise(() => nc.close())
    )
  })

const asTenant = (tenant: Tenant) => connectAs(tenant)
const asUmbra = connectAs("umbra")

/** The next permission violation the server reports on `nc`, as its message. */
const nextViolation = (nc: NatsConnection) =>
  Effect.promise(async () => {
    for await (const status of nc.status()) {
      if (status.type === "error" && status.error.message.includes("Permissions Violation")) return status.error.message
    }
    return "closed"
  })

/** Runs `act` and returns the permission violation it causes (a refusal arrives before the PONG of a flush). */
const refusedOn = (nc: NatsConnection, act: Effect.Effect<unknown>) =>
  Effect.gen(function* () {
    const violation = yield* Effect.forkChild(nextViolation(nc))
    yield* Effect.yieldNow
    yield* act
    yield* Effect.promise(() => nc.flush())
    return yield* Fiber.join(violation).pipe(Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.succeed("no violation reported") }))
  })

/** The last message UMBRA_EVENTS holds on `subject`, read as Umbra (null when there is none). */
const lastOn = (umbra: NatsConnection, subject: string) =>
  Effect.promise(async () => (await jetstreamManager(umbra)).streams.getMessage(streamNames.events, { last_by_subj: subject }))

const command = (clientId: string) => JSON.stringify({ commandId: randomUUID(), data: { clientId, tier: "basic" } })

const fails = (promise: () => Promise<unknown>) =>
  Effect.promise(() => promise().then(() => "succeeded", (error: unknown) => String(error)))

/**
 * Every refusal a tenant's credentials must meet, and what they must allow, on a server `secured` provides
 * with the control plane serving on it as Umbra.
 */
export const isolationSuite = <E>(name: string, secured: Layer.Layer<SecuredServer, E>) => {
  const testLayer = Layer.unwrap(
    Effect.gen(function* () {
      const server = yield* SecuredServer
      const config = testConfig(server.dataDir, server.url)
      return Layer.effectDiscard(startControlPlane(config)).pipe(Layer.provideMerge(controlPlaneLayer(config, server.url, server.umbra)))
    })
  ).pipe(Layer.provideMerge(secured), Layer.provide(quietLogs))
  layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })(name, (it) => {
    it.effect("an anonymous connection is refused; Umbra's own credentials may do anything", () =>
      Effect.gen(function* () {
        const { url } = yield* SecuredServer
        assert.match(yield* fails(() => connect({ servers: url, maxReconnectAttempts: 0 })), /Authorization Violation/)
        const umbra = yield* asUmbra
        const info = yield* Effect.promise(async () => (await jetstreamManager(umbra)).streams.info(streamNames.events))
        assert.strictEqual(info.config.name, streamNames.events)
      }))

    it.effect("a tenant sends its own commands and is refused on another's commands, queries and replies", () =>
      Effect.gen(function* () {
        const a = yield* asTenant("acme")
        const own = yield* Effect.promise(() => a.request("umbra.cmd.acme.ConnectClient", command("a1"), { timeout: 10_000 }))
        assert.isTrue(own.json<{ ok: boolean }>().ok)

        const onCommand = yield* refusedOn(a, fails(() => a.request("umbra.cmd.beta.ConnectClient", command("stolen"), { timeout: 1_000 })))
        assert.include(onCommand, "umbra.cmd.beta.ConnectClient")
        const onQuery = yield* refusedOn(a, fails(() => a.request("umbra.query.beta.Fleet", "{}", { timeout: 1_000 })))
        assert.include(onQuery, "umbra.query.beta.Fleet")
        const onReplies = yield* refusedOn(a, Effect.sync(() => a.subscribe(`${tenantInboxPrefix("beta")}.>`)))
        assert.include(onReplies, "Subscription")
        const onDefaultInbox = yield* refusedOn(a, Effect.sync(() => a.subscribe("_INBOX.>")))
        assert.include(onDefaultInbox, "Subscription")

        // Umbra (which may read everything) sees no client of tb named "stolen".
        const umbra = yield* asUmbra
        assert.isNull(yield* lastOn(umbra, "umbra.evt.beacme.client.stolen"))
      }))

    it.effect("a tenant may not publish events, control requests or signals", () =>
      Effect.gen(function* () {
        const a = yield* asTenant("acme")
        for (const subject of ["umbra.evt.acme.client.forged", "umbra.evt.beacme.client.forged", "umbra.ctl.acme.i1", "umbra.sig.acme.i1.hb"]) {
          assert.include(yield* refusedOn(a, Effect.sync(() => a.publish(subject, "{}"))), subject)
        }
        const umbra = yield* asUmbra
        assert.isNull(yield* lastOn(umbra, "umbra.evt.acme.client.forged"))
      }))

    it.effect("a tenant's request naming one of Umbra's event subjects as its reply puts nothing there: commands, queries, JetStream's API", () =>
      Effect.gen(function* () {
        const a = yield* asTenant("acme")
        // The server checks the subject, not the reply subject: an answer there would be stored in UMBRA_EVENTS.
        const consumer = { stream_name: streamNames.events, config: { name: "redirected", filter_subject: "umbra.evt.acme.>", ack_policy: "none" } }
        a.publish("umbra.cmd.acme.ConnectClient", command("redirected"), { reply: "umbra.evt.beta.client.answered" })
        a.publish("umbra.query.acme.Fleet", "{}", { reply: "umbra.evt.beta.client.answered" })
        a.publish(`${tenantJsApiPrefix}.CONSUMER.CREATE.${streamNames.events}.redirected.umbra.evt.acme.>`, JSON.stringify(consumer), {
          reply: "umbra.evt.beta.client.answered"
        })
        yield* Effect.promise(() => a.flush())
        // A request sent after them has its answer: they have been answered too.
        const own = yield* Effect.promise(() => a.request("umbra.cmd.acme.ConnectClient", command("after"), { timeout: 10_000 }))
        assert.isTrue(own.json<{ ok: boolean }>().ok)
        yield* Effect.sleep("500 millis")
        assert.isNull(yield* lastOn(yield* asUmbra, "umbra.evt.beta.client.answered"))
      }))

    it.effect("a tenant gets no JetStream consumer over another's events, filtered or not, nor any other JetStream API", () =>
      Effect.gen(function* () {
        const a = yield* asTenant("acme")
        const js = jetstream(a, { watcherPrefix: tenantInboxPrefix("acme"), apiPrefix: tenantJsApiPrefix, timeout: 1_000 })
        for (const filter of ["umbra.evt.beta.>", "umbra.evt.*.>", "umbra.evt.>", ">"]) {
          const refusal = yield* refusedOn(a, fails(() => js.consumers.getPushConsumer(streamNames.events, { filter_subjects: filter })))
          assert.include(refusal, `${tenantJsApiPrefix}.CONSUMER.CREATE`, filter)
        }
        const unfiltered = yield* refusedOn(a, fails(() => js.consumers.getPushConsumer(streamNames.events)))
        assert.include(unfiltered, `${tenantJsApiPrefix}.CONSUMER.CREATE`)

        // A body whose filter is wider than the one its subject names: the server itself refuses it (10131).
        const widened = yield* Effect.promise(() =>
          a.request(
            `${tenantJsApiPrefix}.CONSUMER.CREATE.${streamNames.events}.widened.umbra.evt.acme.>`,
            JSON.stringify({ stream_name: streamNames.events, config: { name: "widened", filter_subject: "umbra.evt.beta.>", ack_policy: "none" } }),
            { timeout: 5_000 }
          )
        )
        assert.strictEqual(widened.json<{ error?: { err_code: number } }>().error?.err_code, 10131)

        for (const [subject, body] of [
          [`$JS.API.CONSUMER.DURABLE.CREATE.${streamNames.events}.mine`, { stream_name: streamNames.events, config: { durable_name: "mine", filter_subject: "umbra.evt.acme.>" } }],
          [`$JS.API.STREAM.MSG.GET.${streamNames.events}`, { seq: 1 }],
          [`$JS.API.DIRECT.GET.${streamNames.events}`, { seq: 1 }],
          [`$JS.API.STREAM.INFO.${streamNames.signals}`, {}],
          // A pull names a consumer, not a filter: one of Umbra's durables would hand out every tenant's events.
          [`$JS.API.CONSUMER.MSG.NEXT.${streamNames.events}.saga-production-client`, { batch: 1, expires: 1_000_000_000 }],
          [`$JS.API.STREAM.INFO.${streamNames.events}`, { subjects_filter: "umbra.evt.>" }],
          [`$JS.API.CONSUMER.CREATE.${streamNames.signals}.x.umbra.sig.acme.>`, {}],
          ["$JS.API.STREAM.LIST", {}],
          [`${tenantJsApiPrefix}.CONSUMER.MSG.NEXT.${streamNames.events}.saga-production-client`, { batch: 1 }],
          [`${tenantJsApiPrefix}.STREAM.INFO.${streamNames.events}`, {}],
          [`$JS.API.STREAM.DELETE.${streamNames.events}`, {}],
          [`$JS.API.CONSUMER.DELETE.${streamNames.events}.relay`, {}]
        ] as const) {
          assert.include(yield* refusedOn(a, fails(() => a.request(subject, JSON.stringify(body), { timeout: 1_000 }))), subject)
        }
      }))

    it.effect("a tenant reads its own events from the start with an ordered consumer, and only its own", () =>
      Effect.gen(function* () {
        const b = yield* asTenant("beta")
        assert.isTrue((yield* Effect.promise(() => b.request("umbra.cmd.beta.ConnectClient", command("b1"), { timeout: 10_000 }))).json<{ ok: boolean }>().ok)
        const a = yield* asTenant("acme")
        assert.isTrue((yield* Effect.promise(() => a.request("umbra.cmd.acme.ConnectClient", command("a2"), { timeout: 10_000 }))).json<{ ok: boolean }>().ok)
        // An ordered push consumer delivering to the tenant's own inbox: the relay puts events on JetStream
        // after the reply, so read from the start until a2's connection is there.
        const js = jetstream(a, { watcherPrefix: tenantInboxPrefix("acme"), apiPrefix: tenantJsApiPrefix })
        const subjects = yield* Effect.promise(async () => {
          const messages = await (await js.consumers.getPushConsumer(streamNames.events, { filter_subjects: "umbra.evt.acme.>" })).consume()
          const seen: Array<string> = []
          const stop = setTimeout(() => void messages.stop(), 30_000)
          for await (const message of messages) {
            seen.push(message.subject)
            if (message.subject === "umbra.evt.acme.client.a2") break
          }
          clearTimeout(stop)
          await messages.close()
          return seen
        })
        assert.include(subjects, "umbra.evt.acme.client.a1")
        assert.include(subjects, "umbra.evt.acme.client.a2")
        assert.isTrue(subjects.every((subject) => subject.startsWith("umbra.evt.acme.")), subjects.join(", "))
      }))
  })
}
