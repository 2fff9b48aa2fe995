import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { UmbraClient } from "../../infra/client/umbraClient.ts"
import { examplePath, ServedTenants, servedTenantsLayer } from "./servedTenants.ts"

/** `node examples/<name> <args>` as a tenant would run it beside `umbra serve`: exit code and output. */
const runExample = (name: string, args: ReadonlyArray<string>, env: Readonly<Record<string, string>>) =>
  Effect.callback<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    execFile(process.execPath, [examplePath(name), ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }))
    })
  })

layer(servedTenantsLayer, { excludeTestServices: true, timeout: "120 seconds" })("examples/connect-and-follow.ts", (it) => {
  it.effect("connects with acme's creds, connects a client, follows its events to ProfileCreated, reads the fleet and disconnects", () =>
    Effect.gen(function* () {
      const served = yield* ServedTenants
      const run = yield* runExample("connect-and-follow.ts", ["c-example"], {
        NATS_URL: "",
        UMBRA_DATA_DIR: served.dataDir,
        NATS_CREDS: served.creds.acme
      })
      assert.strictEqual(run.code, 0, run.stderr)
      const lines = run.stdout.trim().split("\n")
      assert.match(lines[0]!, /^sent ConnectClient [0-9a-f-]{36} as acme: ClientConnected$/)
      assert.match(lines[1]!, /^event \d+ ClientConnected$/)
      assert.match(lines[2]!, /^event \d+ ProfileCreated$/)
      assert.deepStrictEqual(lines.slice(3), [
        "profile of c-example: 2000 mCPU, 4096 MiB, 50 GiB (from its tier)",
        "fleet: 0 instance(s)",
        "sent DisconnectClient: ClientDisconnected"
      ])

      // What the example did is what Umbra keeps: its client's profile, and the client disconnected.
      const operator = yield* Effect.promise(() => UmbraClient.connect({ dataDir: served.dataDir, tenant: "acme" }))
      yield* Effect.addFinalizer(() => Effect.promise(() => operator.close()))
      const profile = yield* Effect.promise(() => operator.query("Profile", { clientId: "c-example" }))
      assert.strictEqual(profile.expected.cpuMillis, 2000)
      const tenant = yield* Effect.promise(() => operator.query("Tenant"))
      assert.deepStrictEqual(tenant.clients, { connected: 0, disconnected: 1 })
    }))
})
