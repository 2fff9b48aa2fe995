import { Context, Effect, Layer } from "effect"
import { join } from "node:path"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { scopedTempDir } from "../security/scopedTempDir.ts"
import { serveProcess, stopProcess } from "../support/serveProcess.ts"
import { umbra } from "../support/umbraCli.ts"

/** `umbra serve` on its own authenticated NATS server, with tenants acme and beta issued by `umbra tenant add`. */
export class ServedTenants extends Context.Service<ServedTenants, {
  readonly dataDir: string
  readonly natsUrl: string
  readonly creds: { readonly acme: string; readonly beta: string }
}>()("umbra/test/ServedTenants") {}

// The CLI and the client find the server in the data directory, as a newcomer's would: never a NATS_URL of the machine's.
const cliEnv = { NATS_URL: "", NATS_CREDS: "" }

const addTenant = (dataDir: string, tenant: string) =>
  umbra(dataDir, ["tenant", "add", tenant, "--json"], cliEnv).pipe(
    Effect.flatMap(({ code, stdout, stderr }) =>
      code === 0 ? Effect.succeed(JSON.parse(stdout) as { readonly creds: string; readonly natsUrl: string }) : Effect.die(new Error(`tenant add ${tenant}: ${stderr}`))
    )
  )

/** The control plane with the orchestrator off: commands, sagas (ConnectClient → ProfileCreated), queries and the relay. */
export const servedTenantsLayer = Layer.effect(
  ServedTenants,
  Effect.gen(function* () {
    const dataDir = yield* scopedTempDir("umbra-client-")
    const port = yield* Effect.promise(() => freePort())
    const serve = yield* serveProcess(
      { ...cliEnv, UMBRA_DATA_DIR: dataDir, UMBRA_NATS_PORT: String(port), UMBRA_ORCHESTRATOR: "off" },
      "Umbra control plane serving"
    )
    // Stopped gently first, so that it stops its own nats-server too (the harness's release only kills it).
    yield* Effect.addFinalizer(() => stopProcess(serve, "SIGTERM"))
    const acme = yield* addTenant(dataDir, "acme")
    const beta = yield* addTenant(dataDir, "beta")
    return { dataDir, natsUrl: acme.natsUrl, creds: { acme: acme.creds, beta: beta.creds } }
  })
)

export const examplePath = (name: string) => join(import.meta.dirname, "..", "..", "examples", name)
