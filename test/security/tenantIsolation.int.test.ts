import { assert, layer } from "@effect/vitest"
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node"
import { Context, Effect, Fiber, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { readUmbraCreds } from "../../infra/natsAuth/authDirectory.ts"
import { tenantInboxPrefix } from "../../infra/natsAuth/principals.ts"
import { addTenant } from "../../infra/natsAuth/tenantCredentials.ts"
import { controlPlaneLayer, startControlPlane } from "../../infra/serve/controlPlane.ts"
import { embeddedNats } from "../../infra/serve/embeddedNats.ts"
import { quietLogs, testConfig } from "../support/controlPlane.ts"

/** Umbra's own server as `umbra serve` configures it (temp data dir, free port), with tenants ta and tb. */
class Secured extends Context.Service<Secured, {
  readonly url: string
  readonly dataDir: string
  readonly umbra: Uint8Array
  readonly creds: (tenant: "ta" | "tb") => Uint8Array
}>()("umbra/test/Secured") {}

const securedLayer = Layer.effect(
  Secured,
  Effect.gen(function* () {
    const dataDir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "umbra-secured-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const endpoint = yield* embeddedNats(dataDir, yield* Effect.promise(() => freePort()))
    const files = { ta: yield* addTenant(dataDir, "ta", join(dataDir, "ta.creds")), tb: yield* addTenant(dataDir, "tb", join(dataDir, "tb.creds")) }
    return Secured.of({ url: endpoint.url, dataDir, umbra: yield* readUmbraCreds(dataDir), creds: (tenant) => readFileSync(files[tenant]) })
  })
)

/** The control plane, connected with Umbra's own credentials, serving on that server. */
const testLayer = Layer.unwrap(
  Effect.gen(function* () {
    const secured = yield* Secured
    const config = testConfig(secured.dataDir, secured.url)
    return Layer.effectDiscard(startControlPlane(config)).pipe(Layer.provideMerge(controlPlaneLayer(config, secured.url, { creds: secured.umbra })))
  })
).pipe(Layer.provideMerge(securedLayer), Layer.provide(quietLogs))

/** An ordinary nats.js client with a tenant's credentials, as the tenant would connect. */
const asTenant = (tenant: "ta" | "tb") =>
  Effect.gen(function* () {
    const secured = yield* Secured
    return yield* Effect.acquireRelease(
      Effect.promise(() =>
        connect({ servers: secured.url, authenticator: credsAuthenticator(secured.creds(tenant)), inboxPrefix: tenantInboxPrefix(tenant), maxReconnectAttempts: 0 })
      ),
      (nc) => Effect.promise(() => nc.close())
    )
  })

const asUmbra = Effect.gen(function* () {
  const secured = yield* Secured
  return yield* Effect.acquireRelease(
    Effect.promise(() => connect({ servers: secured.url, authenticator: credsAuthenticator(secured.umbra) })),
    (nc) => Effect.promise(() => nc.close())
  )
})

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

layer(testLayer, { excludeTestServices: true, timeout: "120 seconds" })("a tenant's credentials on Umbra's own server", (it) => {
  it.effect("an anonymous connection is refused; Umbra's own credentials may do anything", () =>
    Effect.gen(function* () {
      const { url } = yield* Secured
      assert.match(yield* fails(() => connect({ servers: url, maxReconnectAttempts: 0 })), /Authorization Violation/)
      const umbra = yield* asUmbra
      const info = yield* Effect.promise(async () => (await jetstreamManager(umbra)).streams.info(streamNames.events))
      assert.strictEqual(info.config.name, streamNames.events)
    }))

  it.effect("a tenant sends its own commands and is refused on another's commands, queries and replies", () =>
    Effect.gen(function* () {
      const a = yield* asTenant("ta")
      const own = yield* Effect.promise(() => a.request("umbra.cmd.ta.ConnectClient", command("a1"), { timeout: 10_000 }))
      assert.isTrue(own.json<{ ok: boolean }>().ok)

      const onCommand = yield* refusedOn(a, fails(() => a.request("umbra.cmd.tb.ConnectClient", command("stolen"), { timeout: 1_000 })))
      assert.include(onCommand, "umbra.cmd.tb.ConnectClient")
      const onQuery = yield* refusedOn(a, fails(() => a.request("umbra.query.tb.Fleet", "{}", { timeout: 1_000 })))
      assert.include(onQuery, "umbra.query.tb.Fleet")
      const onReplies = yield* refusedOn(a, Effect.sync(() => a.subscribe(`${tenantInboxPrefix("tb")}.>`)))
      assert.include(onReplies, "Subscription")
      const onDefaultInbox = yield* refusedOn(a, Effect.sync(() => a.subscribe("_INBOX.>")))
      assert.include(onDefaultInbox, "Subscription")

      // Umbra (which may read everything) sees no client of tb named "stolen".
      const umbra = yield* asUmbra
      assert.isNull(yield* lastOn(umbra, "umbra.evt.tb.client.stolen"))
    }))

  it.effect("a tenant may not publish events, control requests or signals", () =>
    Effect.gen(function* () {
      const a = yield* asTenant("ta")
      for (const subject of ["umbra.evt.ta.client.forged", "umbra.evt.tb.client.forged", "umbra.ctl.ta.i1", "umbra.sig.ta.i1.hb"]) {
        assert.include(yield* refusedOn(a, Effect.sync(() => a.publish(subject, "{}"))), subject)
      }
      const umbra = yield* asUmbra
      assert.isNull(yield* lastOn(umbra, "umbra.evt.ta.client.forged"))
    }))

  it.effect("a tenant gets no JetStream consumer over another's events, filtered or not, nor any other JetStream API", () =>
    Effect.gen(function* () {
      const a = yield* asTenant("ta")
      const js = jetstream(a)
      for (const filter of ["umbra.evt.tb.>", "umbra.evt.*.>", "umbra.evt.>", ">"]) {
        const refusal = yield* refusedOn(a, fails(() => js.consumers.get(streamNames.events, { filter_subjects: filter }).then((c) => c.next({ expires: 1_000 }))))
        assert.include(refusal, "$JS.API.CONSUMER.CREATE", filter)
      }
      const unfiltered = yield* refusedOn(a, fails(() => js.consumers.get(streamNames.events).then((c) => c.next({ expires: 1_000 }))))
      assert.include(unfiltered, "$JS.API.CONSUMER.CREATE")

      // A body whose filter is wider than the one its subject names: the server itself refuses it (10131).
      const widened = yield* Effect.promise(() =>
        a.request(
          `$JS.API.CONSUMER.CREATE.${streamNames.events}.widened.umbra.evt.ta.>`,
          JSON.stringify({ stream_name: streamNames.events, config: { name: "widened", filter_subject: "umbra.evt.tb.>", ack_policy: "none" } }),
          { timeout: 5_000 }
        )
      )
      assert.strictEqual(widened.json<{ error?: { err_code: number } }>().error?.err_code, 10131)

      for (const [subject, body] of [
        [`$JS.API.CONSUMER.DURABLE.CREATE.${streamNames.events}.mine`, { stream_name: streamNames.events, config: { durable_name: "mine", filter_subject: "umbra.evt.ta.>" } }],
        [`$JS.API.STREAM.MSG.GET.${streamNames.events}`, { seq: 1 }],
        [`$JS.API.DIRECT.GET.${streamNames.events}`, { seq: 1 }],
        [`$JS.API.STREAM.INFO.${streamNames.signals}`, {}],
        [`$JS.API.CONSUMER.CREATE.${streamNames.signals}.x.umbra.sig.ta.>`, {}],
        ["$JS.API.STREAM.LIST", {}],
        [`$JS.API.STREAM.DELETE.${streamNames.events}`, {}],
        [`$JS.API.CONSUMER.DELETE.${streamNames.events}.relay`, {}]
      ] as const) {
        assert.include(yield* refusedOn(a, fails(() => a.request(subject, JSON.stringify(body), { timeout: 1_000 }))), subject)
      }
    }))

  it.effect("a tenant reads its own events from the start with an ordered consumer, and only its own", () =>
    Effect.gen(function* () {
      const b = yield* asTenant("tb")
      assert.isTrue((yield* Effect.promise(() => b.request("umbra.cmd.tb.ConnectClient", command("b1"), { timeout: 10_000 }))).json<{ ok: boolean }>().ok)
      const a = yield* asTenant("ta")
      assert.isTrue((yield* Effect.promise(() => a.request("umbra.cmd.ta.ConnectClient", command("a2"), { timeout: 10_000 }))).json<{ ok: boolean }>().ok)
      const js = jetstream(a)
      // The relay puts events on JetStream after the reply: read from the start until a2's connection is there.
      const subjects: Array<string> = []
      for (let attempt = 0; attempt < 100 && !subjects.includes("umbra.evt.ta.client.a2"); attempt++) {
        subjects.length = 0
        const read = yield* Effect.promise(async () => {
          const consumer = await js.consumers.get(streamNames.events, { filter_subjects: "umbra.evt.ta.>" })
          const seen: Array<string> = []
          for (;;) {
            const message = await consumer.next({ expires: 1_000 })
            if (message === null) return seen
            seen.push(message.subject)
            if (message.info.pending === 0) return seen
          }
        })
        subjects.push(...read)
      }
      assert.include(subjects, "umbra.evt.ta.client.a1")
      assert.include(subjects, "umbra.evt.ta.client.a2")
      assert.isTrue(subjects.every((subject) => subject.startsWith("umbra.evt.ta.")), subjects.join(", "))
    }))
})
