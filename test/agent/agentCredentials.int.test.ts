import { assert, describe, it } from "@effect/vitest"
import { connect } from "@nats-io/transport-node"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { natsServer } from "../../infra/nats/natsServerProcess.ts"
import { stopProcess } from "../support/serveProcess.ts"

const agentMain = join(import.meta.dirname, "..", "..", "infra", "cli", "agentMain.ts")

// The production shape of nats.production.conf, reduced to one tenant's agent and the control plane.
const config = `
max_payload: 8MB
authorization {
  users: [
    { user: umbra, password: control }
    {
      user: agent-t1
      password: secret
      permissions: {
        publish: { allow: ["umbra.sig.t1.>"] }
        subscribe: { allow: ["umbra.ctl.t1.>", "_INBOX_t1.>"] }
        allow_responses: true
      }
    }
  ]
}
`

/** An agent process with the tenant's credentials, claiming to be `tenant`'s instance `instanceId`. */
const agent = (url: string, tenant: string, instanceId: string) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      spawn(process.execPath, [agentMain], {
        env: {
          ...process.env,
          NATS_URL: url,
          NATS_USER: "agent-t1",
          NATS_PASSWORD: "secret",
          UMBRA_TENANT: tenant,
          UMBRA_INSTANCE_ID: instanceId,
          UMBRA_HEARTBEAT_MS: "100",
          UMBRA_USAGE_SOURCE: "process",
          UMBRA_LOG_LEVEL: "warn"
        },
        stdio: "ignore"
      })
    ),
    (child) => stopProcess(child, "SIGKILL")
  )

describe("agent credentials", () => {
  it.live("an agent with its tenant's credentials heartbeats and answers control requests, and cannot speak for another tenant", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "umbra-nats-auth-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      writeFileSync(join(dir, "nats.conf"), config)
      const server = yield* natsServer({ storeDir: join(dir, "store"), configFile: join(dir, "nats.conf") })
      const nc = yield* Effect.acquireRelease(
        Effect.promise(() => connect({ servers: server.url, user: "umbra", pass: "control" })),
        (nc) => Effect.promise(() => nc.close())
      )
      const own = nc.subscribe("umbra.sig.t1.i1.hb", { max: 1 })
      const foreign = nc.subscribe("umbra.sig.t2.>")
      yield* agent(server.url, "t1", "i1")
      yield* agent(server.url, "t2", "i2")

      const beat = yield* Effect.promise(async () => {
        for await (const msg of own) return msg.json<{ instanceId: string }>()
        return undefined
      }).pipe(Effect.timeout("20 seconds"))
      assert.strictEqual(beat?.instanceId, "i1")

      const reply = yield* Effect.promise(() => nc.request("umbra.ctl.t1.i1", JSON.stringify({ op: "drain" }), { timeout: 5_000 }))
      assert.deepStrictEqual(reply.json(), { ok: true, op: "drain", ready: false })

      // The other agent has run as long as the first one needed to beat: none of its heartbeats got through.
      yield* Effect.sleep("1 second")
      assert.strictEqual(foreign.getReceived(), 0)
    }).pipe(Effect.scoped), 60_000)
})
