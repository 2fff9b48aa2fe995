import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { join } from "node:path"
import { NatsTestServer } from "../harness/natsServer.ts"
import { controlPlaneTestLayer } from "../support/controlPlane.ts"

const main = join(import.meta.dirname, "..", "..", "infra", "cli", "main.ts")

/** `umbra <args>` as its own process against the test's nats-server: exit code, stdout and stderr. */
const umbra = (natsUrl: string, ...args: ReadonlyArray<string>) =>
  Effect.callback<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    execFile(process.execPath, [main, ...args], { env: { ...process.env, NATS_URL: natsUrl, UMBRA_LOG_LEVEL: "error" } }, (error, stdout, stderr) => {
      resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }))
    })
  })

layer(controlPlaneTestLayer, { excludeTestServices: true, timeout: "90 seconds" })("the CLI's send and query", (it) => {
  it.effect("sends RequestProduction, asks the Launch query about it, and exits non-zero on refusals and bad input", () =>
    Effect.gen(function* () {
      const { url } = yield* NatsTestServer
      const connected = yield* umbra(url, "send", "ConnectClient", "--tenant", "acme", "--data", '{"clientId": "c1", "tier": "basic"}', "--json")
      assert.strictEqual(connected.code, 0, connected.stdout)

      const requested = yield* umbra(url, "send", "RequestProduction", "--tenant", "acme", "--data", '{"clientId": "c1", "launchId": "l1", "priority": 3}', "--json")
      assert.strictEqual(requested.code, 0, requested.stdout)
      assert.strictEqual(JSON.parse(requested.stdout).events[0].type, "LaunchRequested")

      // No orchestrator runs here: the launch stays queued.
      const launch = yield* umbra(url, "query", "Launch", "--tenant", "acme", "--data", '{"launchId": "l1"}', "--json")
      assert.strictEqual(launch.code, 0, launch.stdout)
      const { result } = JSON.parse(launch.stdout)
      assert.deepInclude(result, { launchId: "l1", clientId: "c1", priority: 3, stage: "queued", weight: 0 })
      assert.notProperty(result, "endpoint", "a queued launch has no endpoint yet: its port is fixed with its plan")
      assert.deepStrictEqual(result.stages.map((s: { stage: string }) => s.stage), ["queued"])

      const missing = yield* umbra(url, "query", "Launch", "--tenant", "acme", "--data", '{"launchId": "nope"}', "--json")
      assert.strictEqual(missing.code, 1)
      assert.strictEqual(JSON.parse(missing.stdout).error.tag, "NotFound")
      const malformed = yield* umbra(url, "query", "Launch", "--tenant", "acme", "--data", '{"launchId": "Not A Token"}', "--json")
      assert.strictEqual(JSON.parse(malformed.stdout).error.tag, "ValidationFailed")
      const unknown = yield* umbra(url, "query", "Fleet2", "--tenant", "acme", "--json")
      assert.strictEqual(JSON.parse(unknown.stdout).error.tag, "NotFound")
      const twice = yield* umbra(url, "send", "RequestProduction", "--tenant", "acme", "--data", '{"clientId": "c1", "launchId": "l1"}', "--json")
      assert.strictEqual(twice.code, 1)
      assert.strictEqual(JSON.parse(twice.stdout).error.tag, "IllegalState")
      assert.strictEqual((yield* umbra(url, "query", "Launch", "--tenant", "acme", "--data", "{not json")).code, 2)
      assert.strictEqual((yield* umbra(url, "send", "RequestProduction", "--data", "{}")).code, 2)
    }))

  it.effect("send without --command-id says the id it made up, and sending again with it is answered as a duplicate", () =>
    Effect.gen(function* () {
      const { url } = yield* NatsTestServer
      const data = '{"clientId": "dup1", "tier": "basic"}'
      const first = yield* umbra(url, "send", "ConnectClient", "--tenant", "acme", "--data", data, "--json")
      assert.strictEqual(first.code, 0, first.stderr)
      const reply = JSON.parse(first.stdout)
      assert.match(reply.commandId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      assert.include(first.stderr, `--command-id ${reply.commandId}`)
      assert.deepInclude(reply, { ok: true, duplicate: false })
      assert.strictEqual(reply.events[0].type, "ClientConnected")

      // Without --json the reply is printed for people, with the id in it too.
      const again = yield* umbra(url, "send", "ConnectClient", "--tenant", "acme", "--data", data, "--command-id", reply.commandId)
      assert.strictEqual(again.code, 0, again.stderr)
      assert.deepInclude(JSON.parse(again.stdout), { ok: true, duplicate: true, commandId: reply.commandId })
      assert.deepStrictEqual(JSON.parse(again.stdout).events, reply.events)
      // An id given is not said again on stderr.
      assert.notInclude(again.stderr, reply.commandId)
    }))
})
