import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { connect, credsAuthenticator } from "@nats-io/transport-node"
import { Effect, Layer } from "effect"
import { subjects } from "../../domain/subjects.ts"
import { agentImage } from "../../infra/images/imageNames.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { authPaths, readUmbraCreds } from "../../infra/natsAuth/authDirectory.ts"
import { credentialsFile } from "../../infra/process/credentialsFile.ts"
import { layer as processRuntimeLayer } from "../../infra/process/processRuntime.ts"
import { instanceDir } from "../../infra/process/processRegistry.ts"
import { workloadUser } from "../../infra/process/workloadUser.ts"
import { embeddedNats } from "../../infra/serve/embeddedNats.ts"
import { InstanceCredentials } from "../../src/instanceCredentials.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { scopedTempDir } from "../security/scopedTempDir.ts"
import { eventually } from "../support/eventually.ts"

const tenant = "acme"

const spec = (instanceId: string): InstanceSpec => ({
  tenant,
  clientId: "c1",
  instanceId,
  role: "shadow",
  image: agentImage,
  env: { UMBRA_HEARTBEAT_MS: "200", UMBRA_TELEMETRY_MS: "500" },
  statePaths: [],
  cpuMillis: 250,
  memoryMiB: 128,
  network: { subnets: [], securityGroups: [], egress: false }
})

/** Every file under `dir` whose bytes contain `secret`. */
const filesHolding = (dir: string, secret: string): Array<string> =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile() && readFileSync(path).includes(secret))

const seedOf = (creds: string) => /-----BEGIN USER NKEY SEED-----\s*(\S+)/.exec(creds)![1]!

describe("the process runtime on Umbra's own server", () => {
  it.live("mints the instance credentials of its own, as a file only its agent reads; they end with the instance", () =>
    Effect.gen(function* () {
      const dataDir = yield* scopedTempDir("umbra-process-creds-")
      const endpoint = yield* embeddedNats(dataDir, yield* Effect.promise(() => freePort()))
      const runtimeLayer = processRuntimeLayer({ dataDir, natsUrl: endpoint.url, stopGraceMs: 2_000 }).pipe(
        Layer.provide(Layer.succeed(InstanceCredentials, endpoint.instanceCredentials!))
      )
      const runtime = yield* InstanceRuntime.pipe(Effect.provide(runtimeLayer))
      const umbraCreds = yield* readUmbraCreds(dataDir)
      const umbra = yield* Effect.acquireRelease(
        Effect.promise(() => connect({ servers: endpoint.url, authenticator: credsAuthenticator(umbraCreds) })),
        (nc) => Effect.promise(() => nc.close())
      )
      const beats = umbra.subscribe(subjects.signal(tenant, "shd-1", "hb"))
      yield* Effect.addFinalizer(() => runtime.remove(instanceKey(tenant, "shd-1")).pipe(Effect.ignore))

      const info = yield* runtime.create(spec("shd-1"))
      // Umbra's server has no shared agent user: heartbeats arrive only if the agent logged in as the instance.
      yield* eventually(Effect.sync(() => beats.getReceived() >= 2), 30_000, "heartbeats of shd-1")
      const reply = yield* Effect.promise(() => umbra.request(subjects.control(tenant, "shd-1"), JSON.stringify({ op: "statePaths" }), { timeout: 5_000 }))
      assert.deepInclude(reply.json<{ ok: boolean; op: string }>(), { ok: true, op: "statePaths" })

      const path = credentialsFile(instanceDir(dataDir, tenant, "shd-1"))
      const creds = readFileSync(path, "utf8")
      const file = statSync(path)
      assert.strictEqual(file.mode & 0o777, 0o600)
      const user = yield* workloadUser("nobody")
      assert.strictEqual(file.uid, user?.uid ?? process.getuid!())

      // The agent is told where the file is; the secret is in no variable of its environment.
      const seed = seedOf(creds)
      const environ = readFileSync(`/proc/${info.runtimeId}/environ`, "utf8").split("\0")
      assert.include(environ, `NATS_CREDS=${path}`)
      assert.isFalse(environ.some((entry) => entry.startsWith("NATS_USER=") || entry.startsWith("NATS_PASSWORD=") || entry.includes(seed)))
      // Nor in any other file of the data directory: the server knows the instance by its public key alone.
      assert.deepStrictEqual(filesHolding(dataDir, seed), [path])
      assert.isTrue(existsSync(authPaths(dataDir).instances))

      yield* runtime.remove(instanceKey(tenant, "shd-1"))
      assert.isFalse(existsSync(path))
      const again = yield* Effect.promise(() =>
        connect({ servers: endpoint.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds)), maxReconnectAttempts: 0 }).then(
          (nc) => nc.close().then(() => "connected"),
          (error: unknown) => String(error)
        )
      )
      assert.match(again, /Authorization Violation/)
    }).pipe(Effect.scoped), 90_000)
})
