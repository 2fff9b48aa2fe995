import { assert, describe, it } from "@effect/vitest"
import { connect, credsAuthenticator } from "@nats-io/transport-node"
import { Effect, Layer } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { readUmbraCreds } from "../../infra/natsAuth/authDirectory.ts"
import { addTenant, revokeTenant } from "../../infra/natsAuth/tenantCredentials.ts"
import { embeddedNats } from "../../infra/serve/embeddedNats.ts"
import { isolationSuite, SecuredServer, tenantConnection } from "./isolationSuite.ts"
import { scopedTempDir } from "./scopedTempDir.ts"

/** Umbra's own server as `umbra serve` configures it (temp data dir, free port), with tenants acme and beta. */
const embedded = Layer.effect(
  SecuredServer,
  Effect.gen(function* () {
    const dataDir = yield* scopedTempDir("umbra-secured-")
    const endpoint = yield* embeddedNats(dataDir, yield* Effect.promise(() => freePort()))
    const acme = readFileSync(yield* addTenant(dataDir, "acme", join(dataDir, "acme.creds")))
    const beta = readFileSync(yield* addTenant(dataDir, "beta", join(dataDir, "beta.creds")))
    const umbra = yield* readUmbraCreds(dataDir)
    return SecuredServer.of({
      url: endpoint.url,
      dataDir,
      umbra: { creds: umbra },
      credentials: (who) =>
        who === "umbra"
          ? { authenticator: credsAuthenticator(umbra) }
          : tenantConnection(who, { authenticator: credsAuthenticator(who === "acme" ? acme : beta) })
    })
  })
)

isolationSuite("a tenant's credentials on Umbra's own server", embedded)

describe("revoking a tenant on Umbra's own server", () => {
  it.live("closes the connections made with its credentials and refuses new ones; other tenants stay connected", () =>
    Effect.gen(function* () {
      const dataDir = yield* scopedTempDir("umbra-revoke-")
      const { url } = yield* embeddedNats(dataDir, yield* Effect.promise(() => freePort()))
      const options = (tenant: "acme" | "beta", creds: Uint8Array) => ({
        servers: url,
        maxReconnectAttempts: 0,
        ...tenantConnection(tenant, { authenticator: credsAuthenticator(creds) })
      })
      const acme = readFileSync(yield* addTenant(dataDir, "acme", join(dataDir, "acme.creds")))
      const beta = readFileSync(yield* addTenant(dataDir, "beta", join(dataDir, "beta.creds")))
      const acmeConnection = yield* Effect.promise(() => connect(options("acme", acme)))
      const betaConnection = yield* Effect.promise(() => connect(options("beta", beta)))

      assert.strictEqual(yield* revokeTenant(dataDir, "acme"), 1)
      // The server has reloaded when revokeTenant returns; it closes acme's connection as it reloads.
      yield* Effect.promise(() => acmeConnection.closed())
      const again = yield* Effect.promise(() => connect(options("acme", acme)).then(() => "connected", (error: unknown) => String(error)))
      assert.match(again, /Authorization Violation/)
      assert.isFalse(betaConnection.isClosed())
      yield* Effect.promise(() => betaConnection.close())
    }).pipe(Effect.scoped), 60_000)
})

/** Whether the server refuses `act` on `nc`: a permissions violation arrives as an error status. */
const refused = (nc: Awaited<ReturnType<typeof connect>>, act: () => void) =>
  Effect.promise(async () => {
    const violation = (async () => {
      for await (const status of nc.status()) if (status.type === "error") return true
      return false
    })()
    act()
    await nc.flush()
    return Promise.race([violation, nc.flush().then(() => false)])
  })

describe("the instance agents' user on Umbra's own server", () => {
  it.live("publishes signals and takes control requests, and nothing else", () =>
    Effect.gen(function* () {
      const dataDir = yield* scopedTempDir("umbra-agent-")
      const { url, agent } = yield* embeddedNats(dataDir, yield* Effect.promise(() => freePort()))
      assert.isDefined(agent)
      const creds = yield* readUmbraCreds(dataDir)
      const umbra = yield* Effect.promise(() => connect({ servers: url, authenticator: credsAuthenticator(creds) }))
      const seen = umbra.subscribe("umbra.sig.acme.shd-1.hb", { max: 1 })
      yield* Effect.promise(() => umbra.flush())
      const open = () => connect({ servers: url, user: agent!.user, pass: agent!.password, maxReconnectAttempts: 0 })
      const signals = yield* Effect.promise(open)
      assert.isFalse(yield* refused(signals, () => signals.publish("umbra.sig.acme.shd-1.hb", "{}")))
      for (const [what, act] of [
        ["a command", (nc: typeof signals) => nc.publish("umbra.cmd.acme.ConnectClient", "{}")],
        ["an event", (nc: typeof signals) => nc.publish("umbra.evt.acme.client.c1", "{}")],
        ["the JetStream API", (nc: typeof signals) => nc.publish("$JS.API.STREAM.LIST", "")],
        ["reading events", (nc: typeof signals) => void nc.subscribe("umbra.evt.>")]
      ] as const) {
        // A violation may close nothing, but each try gets a connection of its own to read its own verdict.
        const nc = yield* Effect.promise(open)
        assert.isTrue(yield* refused(nc, () => act(nc)), what)
        yield* Effect.promise(() => nc.close())
      }
      const delivered = yield* Effect.promise(async () => {
        for await (const msg of seen) return msg.string()
        return undefined
      })
      assert.strictEqual(delivered, "{}")
      const anonymous = yield* Effect.promise(() => connect({ servers: url, maxReconnectAttempts: 0 }).then(() => "connected", (error: unknown) => String(error)))
      assert.match(anonymous, /Authorization Violation/)
      yield* Effect.promise(() => Promise.all([signals.close(), umbra.close()]))
    }).pipe(Effect.scoped), 60_000)
})
