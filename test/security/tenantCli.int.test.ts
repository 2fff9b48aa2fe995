import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { existsSync, statSync } from "node:fs"
import { join } from "node:path"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { serveProcess, stopProcess } from "../support/serveProcess.ts"
import { scopedTempDir } from "./scopedTempDir.ts"

const main = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")

/**
 * `umbra <args>` run beside the data directory, as an operator or a tenant would: exit code and stdout. A
 * command that runs until stopped (`tail`) is given `stopAfterMs`, then stopped (SIGTERM).
 */
const umbraFor = (stopAfterMs: number | undefined) => (dataDir: string, ...args: ReadonlyArray<string>) =>
  Effect.callback<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    const { NATS_URL: _, NATS_CREDS: __, ...env } = process.env
    const options = { env: { ...env, UMBRA_DATA_DIR: dataDir, UMBRA_LOG_LEVEL: "error" }, ...(stopAfterMs === undefined ? {} : { timeout: stopAfterMs }) }
    execFile(process.execPath, [main, ...args], options, (error, stdout, stderr) => {
      resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }))
    })
  })
const umbra = umbraFor(undefined)

/** The tenants of the events `tail --json` printed. */
const tailedTenants = (stdout: string) =>
  stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => (JSON.parse(line) as { event: { tenant: string; type: string } }).event)

const connect = (clientId: string) => JSON.stringify({ clientId, tier: "basic" })

describe("umbra tenant", () => {
  it.live(
    "serve runs its own server; the CLI beside the data directory acts as Umbra, issues, lists and revokes tenants, and a tenant sends and tails its own events with --creds until revoked",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* scopedTempDir("umbra-tenant-cli-")
        const port = yield* Effect.promise(() => freePort())
        const serve = yield* serveProcess(
          { NATS_URL: "", UMBRA_DATA_DIR: dataDir, UMBRA_NATS_PORT: String(port), UMBRA_ORCHESTRATOR: "off" },
          "Umbra control plane serving"
        )
        assert.strictEqual(statSync(join(dataDir, "nats", "umbra.creds")).mode & 0o777, 0o600)

        // The operator: no flags, Umbra's own credentials found in the data directory.
        const asUmbra = yield* umbra(dataDir, "send", "ConnectClient", "--tenant", "acme", "--data", connect("c1"), "--json")
        assert.strictEqual(asUmbra.code, 0, asUmbra.stderr)

        const added = yield* umbra(dataDir, "tenant", "add", "acme", "--json")
        assert.strictEqual(added.code, 0, added.stderr)
        const issued = JSON.parse(added.stdout) as { tenant: string; creds: string; natsUrl: string }
        assert.deepStrictEqual(issued, { tenant: "acme", creds: join(dataDir, "tenants", "acme.creds"), natsUrl: `nats://127.0.0.1:${port}` })
        assert.strictEqual(statSync(issued.creds).mode & 0o777, 0o600)
        const other = join(dataDir, "beta.creds")
        const beta = yield* umbra(dataDir, "tenant", "add", "beta", "--out", other)
        assert.strictEqual(beta.stdout.trim(), other)

        const listed = yield* umbra(dataDir, "tenant", "ls", "--json")
        assert.deepStrictEqual(JSON.parse(listed.stdout), {
          tenants: [
            { tenant: "acme", active: 1, revoked: 0 },
            { tenant: "beta", active: 1, revoked: 0 }
          ]
        })

        const asAcme = yield* umbra(dataDir, "send", "ConnectClient", "--tenant", "acme", "--creds", issued.creds, "--data", connect("c2"), "--json")
        assert.strictEqual(asAcme.code, 0, asAcme.stderr)
        assert.strictEqual(JSON.parse(asAcme.stdout).events[0].stream, "client-acme.c2")
        // The tenant reads its own events from the start with its credentials, and another tenant sees none of them.
        const acmeTail = tailedTenants((yield* umbraFor(6_000)(dataDir, "tail", "--creds", issued.creds, "--from", "start", "--json")).stdout)
        assert.isAtLeast(acmeTail.filter((event) => event.type === "ClientConnected").length, 1)
        assert.deepStrictEqual([...new Set(acmeTail.map((event) => event.tenant))], ["acme"])
        const betaTail = tailedTenants((yield* umbraFor(4_000)(dataDir, "tail", "--creds", other, "--from", "start", "--json")).stdout)
        assert.deepStrictEqual(betaTail, [])

        const acmeAsBeta = yield* umbra(dataDir, "send", "ConnectClient", "--tenant", "acme", "--creds", other, "--data", connect("c3"), "--timeout", "2000")
        assert.strictEqual(acmeAsBeta.code, 1)
        assert.include(acmeAsBeta.stderr, "Permissions Violation")

        const revoked = yield* umbra(dataDir, "tenant", "revoke", "acme", "--json")
        assert.deepStrictEqual(JSON.parse(revoked.stdout), { tenant: "acme", revoked: 1 })
        const afterRevoke = yield* umbra(dataDir, "send", "ConnectClient", "--tenant", "acme", "--creds", issued.creds, "--data", connect("c4"))
        assert.strictEqual(afterRevoke.code, 1)
        assert.include(afterRevoke.stderr, "Authorization Violation")
        assert.strictEqual((yield* umbra(dataDir, "tenant", "revoke", "acme")).code, 1)
        assert.deepStrictEqual(JSON.parse((yield* umbra(dataDir, "tenant", "ls", "--json")).stdout).tenants[0], { tenant: "acme", active: 0, revoked: 1 })

        yield* stopProcess(serve, "SIGTERM")
        assert.isFalse(existsSync(join(dataDir, "nats", "server.json")), "the server file outlives the server")
      }),
    { timeout: 120_000 }
  )
})
