import { Effect, Layer } from "effect"
import { randomUUID } from "node:crypto"
import { copyFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { natsServer } from "../../infra/nats/natsServerProcess.ts"
import { isolationSuite, SecuredServer, tenantConnection } from "./isolationSuite.ts"
import { scopedTempDir } from "./scopedTempDir.ts"

const repository = join(import.meta.dirname, "..", "..")

/** nats-server parses a variable's value as a config value: letters and digits, starting with a letter, stay a string. */
const secret = () => `p${randomUUID().replaceAll("-", "")}`

/**
 * nats.production.accounts.conf as nats.production.conf includes it, under a 2.9-readable jetstream block
 * in place of the production one, with each password from the environment as in production.
 */
const production = Layer.effect(
  SecuredServer,
  Effect.gen(function* () {
    const dir = yield* scopedTempDir("umbra-production-conf-")
    copyFileSync(join(repository, "nats.production.accounts.conf"), join(dir, "nats.production.accounts.conf"))
    writeFileSync(join(dir, "server.conf"), `max_payload: 8MB\njetstream {}\ninclude "nats.production.accounts.conf"\n`)
    const passwords = { umbra: secret(), acme: secret(), beta: secret() }
    const server = yield* natsServer({
      storeDir: join(dir, "store"),
      configFile: join(dir, "server.conf"),
      env: {
        UMBRA_NATS_PASSWORD: passwords.umbra,
        UMBRA_TENANT_ACME_PASSWORD: passwords.acme,
        UMBRA_TENANT_BETA_PASSWORD: passwords.beta,
        UMBRA_AGENT_ACME_PASSWORD: secret(),
        NATS_SYS_PASSWORD: secret()
      }
    })
    return SecuredServer.of({
      url: server.url,
      dataDir: join(dir, "umbra"),
      umbra: { user: "umbra", password: passwords.umbra },
      credentials: (who) =>
        who === "umbra" ? { user: "umbra", pass: passwords.umbra } : tenantConnection(who, { user: who, pass: passwords[who] })
    })
  })
)

isolationSuite("a tenant's user on a server configured by nats.production.accounts.conf", production)
