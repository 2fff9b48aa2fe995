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
