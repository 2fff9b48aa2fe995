import { assert, describe, it } from "@effect/vitest"
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node"
import { Effect } from "effect"
import { jetstreamManager } from "@nats-io/jetstream"
import { streamConfigs, streamNames } from "../../infra/nats/jetstreamSetup.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { readUmbraCreds } from "../../infra/natsAuth/authDirectory.ts"
import { embeddedNats } from "../../infra/serve/embeddedNats.ts"
import { instanceKey } from "../../src/instanceRuntime.ts"
import { scopedTempDir } from "./scopedTempDir.ts"

/** Whether the server refuses `act` on `nc`: a permissions violation arrives as an error status. */
const refused = (nc: NatsConnection, act: () => void) =>
  Effect.promise(async () => {
    const violation = (async () => {
      for await (const status of nc.status()) if (status.type === "error") return true
      return false
    })()
    act()
    await nc.flush()
    return Promise.race([violation, nc.flush().then(() => false)])
  })

/** Umbra's own server on a temp data directory, with a connection as Umbra itself. */
const embedded = Effect.gen(function* () {
  const dataDir = yield* scopedTempDir("umbra-instance-creds-")
  const endpoint = yield* embeddedNats(dataDir, yield* Effect.promise(() => freePort()))
  const credentials = endpoint.instanceCredentials
  assert.isDefined(credentials)
  const creds = yield* readUmbraCreds(dataDir)
  const umbra = yield* Effect.acquireRelease(
    Effect.promise(() => connect({ servers: endpoint.url, authenticator: credsAuthenticator(creds) })),
    (nc) => Effect.promise(() => nc.close())
  )
  const open = (instanceCreds: Uint8Array) =>
    Effect.promise(() => connect({ servers: endpoint.url, authenticator: credsAuthenticator(instanceCreds), maxReconnectAttempts: 0 }))
  const attempt = (instanceCreds: Uint8Array) =>
    Effect.promise(() =>
      connect({ servers: endpoint.url, authenticator: credsAuthenticator(instanceCreds), maxReconnectAttempts: 0 }).then(
        async (nc) => {
          await nc.close()
          return "connected"
        },
        (error: unknown) => String(error)
      )
    )
  return { url: endpoint.url, credentials: credentials!, umbra, open, attempt }
})

const a = instanceKey("acme", "shd-a")
const b = instanceKey("acme", "shd-b")

describe("credentials per instance on Umbra's own server", () => {
  it.live("an instance's credentials publish its signals and take its control requests, and are refused on another instance's", () =>
    Effect.gen(function* () {
      const { credentials, umbra, open } = yield* embedded
      const ownCreds = yield* credentials.mint(a)
      yield* credentials.mint(b)
      const seen = umbra.subscribe("umbra.sig.acme.shd-a.hb", { max: 1 })
      yield* Effect.promise(() => umbra.flush())

      const own = yield* open(ownCreds)
      assert.isFalse(yield* refused(own, () => own.publish("umbra.sig.acme.shd-a.hb", "{}")))
      own.subscribe("umbra.ctl.acme.shd-a", { callback: (_, request) => void request.respond("answered") })
      yield* Effect.promise(() => own.flush())
      const reply = yield* Effect.promise(() => umbra.request("umbra.ctl.acme.shd-a", "{}", { timeout: 5_000 }))
      assert.strictEqual(reply.string(), "answered")
      const delivered = yield* Effect.promise(async () => {
        for await (const msg of seen) return msg.string()
        return undefined
      })
      assert.strictEqual(delivered, "{}")

      for (const [what, act] of [
        ["another instance's heartbeat", (nc: NatsConnection) => nc.publish("umbra.sig.acme.shd-b.hb", "{}")],
        ["another tenant's instance of the same id", (nc: NatsConnection) => nc.publish("umbra.sig.beta.shd-a.hb", "{}")],
        ["another instance's control requests", (nc: NatsConnection) => void nc.subscribe("umbra.ctl.acme.shd-b")],
        ["every instance's control requests", (nc: NatsConnection) => void nc.subscribe("umbra.ctl.acme.>")],
        ["other instances' signals", (nc: NatsConnection) => void nc.subscribe("umbra.sig.>")],
        ["a command", (nc: NatsConnection) => nc.publish("umbra.cmd.acme.ConnectClient", "{}")],
        ["an event", (nc: NatsConnection) => nc.publish("umbra.evt.acme.instance.shd-a", "{}")],
        ["a control request to another instance", (nc: NatsConnection) => nc.publish("umbra.ctl.acme.shd-b", "{}")],
        ["the JetStream API", (nc: NatsConnection) => nc.publish("$JS.API.STREAM.LIST", "")]
      ] as const) {
        // Each try on a connection of its own, to read its own verdict.
        const nc = yield* open(ownCreds)
        assert.isTrue(yield* refused(nc, () => act(nc)), what)
        yield* Effect.promise(() => nc.close())
      }
      yield* Effect.promise(() => own.close())
    }).pipe(Effect.scoped), 60_000)

  it.live("a signal whose reply names an event subject is stored, and no acknowledgement lands on that subject", () =>
    Effect.gen(function* () {
      const { credentials, umbra, open } = yield* embedded
      const jsm = yield* Effect.promise(() => jetstreamManager(umbra))
      for (const config of streamConfigs()) yield* Effect.promise(() => jsm.streams.add(config))
      const own = yield* open(yield* credentials.mint(a))
      // The server checks the subject, not the reply subject: an acknowledgement would be stored as an event.
      own.publish("umbra.sig.acme.shd-a.hb", "{}", { reply: "umbra.evt.beta.client.acked" })
      yield* Effect.promise(() => own.flush())
      const stored = yield* Effect.promise(() => jsm.streams.getMessage(streamNames.signals, { last_by_subj: "umbra.sig.acme.shd-a.hb" }))
      assert.isNotNull(stored)
      yield* Effect.sleep("300 millis")
      assert.isNull(yield* Effect.promise(() => jsm.streams.getMessage(streamNames.events, { last_by_subj: "umbra.evt.beta.client.acked" })))
      yield* Effect.promise(() => own.close())
    }).pipe(Effect.scoped), 60_000)

  it.live("once revoked (the instance removed) they are refused, and the connections made with them closed; the other instance's stay", () =>
    Effect.gen(function* () {
      const { url, credentials, open, attempt } = yield* embedded
      const first = yield* credentials.mint(a)
      // Minting again (the instance created anew) replaces what it had.
      const ownCreds = yield* credentials.mint(a)
      assert.match(yield* attempt(first), /Authorization Violation/)
      const otherCreds = yield* credentials.mint(b)
      const own = yield* open(ownCreds)
      const other = yield* open(otherCreds)

      yield* credentials.revoke(a)
      // The server has reloaded when revoke returns; it closes the connection as it reloads.
      yield* Effect.promise(() => own.closed())
      assert.match(yield* attempt(ownCreds), /Authorization Violation/)
      assert.isFalse(other.isClosed())
      assert.isFalse(yield* refused(other, () => other.publish("umbra.sig.acme.shd-b.hb", "{}")))
      yield* credentials.revoke(a)
      yield* Effect.promise(() => other.close())
      const anonymous = yield* Effect.promise(() => connect({ servers: url, maxReconnectAttempts: 0 }).then(() => "connected", (error: unknown) => String(error)))
      assert.match(anonymous, /Authorization Violation/)
    }).pipe(Effect.scoped), 60_000)
})
