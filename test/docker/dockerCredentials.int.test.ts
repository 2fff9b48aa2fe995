// @module-tag docker
import { randomUUID } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { connect, credsAuthenticator } from "@nats-io/transport-node"
import Docker from "dockerode"
import { Effect, Layer } from "effect"
import { subjects } from "../../domain/subjects.ts"
import { credentialsSource, mountedCredentialsPath } from "../../infra/docker/credentialsMount.ts"
import { layer as dockerRuntimeLayer } from "../../infra/docker/dockerRuntime.ts"
import { buildImages } from "../../infra/images/imageBuild.ts"
import { agentImage } from "../../infra/images/imageNames.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { readUmbraCreds } from "../../infra/natsAuth/authDirectory.ts"
import { embeddedNats } from "../../infra/serve/embeddedNats.ts"
import { InstanceCredentials } from "../../src/instanceCredentials.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { scopedTempDir } from "../security/scopedTempDir.ts"
import { eventually } from "../support/eventually.ts"

const tenant = `dc${randomUUID().slice(0, 8)}`
const key = instanceKey(tenant, "shd-1")
const docker = new Docker()

const spec: InstanceSpec = {
  tenant,
  clientId: "c1",
  instanceId: "shd-1",
  role: "shadow",
  image: agentImage,
  env: { UMBRA_HEARTBEAT_MS: "200", UMBRA_TELEMETRY_MS: "500" },
  statePaths: [],
  cpuMillis: 250,
  memoryMiB: 128,
  network: { subnets: [], securityGroups: [], egress: false }
}

const seedOf = (creds: string) => /-----BEGIN USER NKEY SEED-----\s*(\S+)/.exec(creds)![1]!

describe("the Docker runtime on Umbra's own server", () => {
  it.live("mounts the instance credentials of its own, read-only, in no variable; they end with the instance", () =>
    Effect.gen(function* () {
      yield* buildImages().pipe(Effect.orDie)
      const dataDir = yield* scopedTempDir("umbra-docker-creds-")
      const credentialsDir = join(dataDir, "instance-credentials")
      const endpoint = yield* embeddedNats(dataDir, yield* Effect.promise(() => freePort()))
      const runtimeLayer = dockerRuntimeLayer({ natsUrl: endpoint.url, credentialsDir, stopTimeoutSeconds: 2 }).pipe(
        Layer.provide(Layer.succeed(InstanceCredentials, endpoint.instanceCredentials!))
      )
      const runtime = yield* InstanceRuntime.pipe(Effect.provide(runtimeLayer))
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          for (const container of await docker.listContainers({ all: true, filters: { label: [`umbra.tenant=${tenant}`] } })) {
            await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined)
          }
        })
      )
      const umbraCreds = yield* readUmbraCreds(dataDir)
      const umbra = yield* Effect.acquireRelease(
        Effect.promise(() => connect({ servers: endpoint.url, authenticator: credsAuthenticator(umbraCreds) })),
        (nc) => Effect.promise(() => nc.close())
      )
      const beats = umbra.subscribe(subjects.signal(tenant, "shd-1", "hb"))

      const info = yield* runtime.create(spec)
      // Umbra's server has no shared agent user: heartbeats arrive only if the agent logged in as the instance.
      yield* eventually(Effect.sync(() => beats.getReceived() >= 2), 60_000, "heartbeats of shd-1")

      const source = credentialsSource(credentialsDir, key)
      const creds = readFileSync(source, "utf8")
      const seed = seedOf(creds)
      const inspected = yield* Effect.promise(() => docker.getContainer(info.runtimeId).inspect())
      const env = inspected.Config.Env ?? []
      assert.include(env, `NATS_CREDS=${mountedCredentialsPath}`)
      assert.isFalse(env.some((entry) => entry.startsWith("NATS_USER=") || entry.startsWith("NATS_PASSWORD=") || entry.includes(seed)))
      assert.isFalse(JSON.stringify(inspected).includes(seed))
      const mount = inspected.Mounts.find((found) => found.Destination === mountedCredentialsPath)
      assert.deepInclude(mount, { Type: "bind", Source: source, RW: false })

      yield* runtime.remove(key)
      assert.isFalse(existsSync(source))
      const again = yield* Effect.promise(() =>
        connect({ servers: endpoint.url, authenticator: credsAuthenticator(new TextEncoder().encode(creds)), maxReconnectAttempts: 0 }).then(
          (nc) => nc.close().then(() => "connected"),
          (error: unknown) => String(error)
        )
      )
      assert.match(again, /Authorization Violation/)
    }).pipe(Effect.scoped), 180_000)
})
