// @module-tag docker
import { execFile } from "node:child_process"
import { randomUUID } from "node:crypto"
import { promisify } from "node:util"
import { assert, layer } from "@effect/vitest"
import Docker from "dockerode"
import { Effect, Layer } from "effect"
import { defaultNetwork } from "../../domain/profile/template.ts"
import { layer as dockerRuntimeLayer } from "../../infra/docker/dockerRuntime.ts"
import { buildImages } from "../../infra/images/imageBuild.ts"
import { imagePaths } from "../../infra/images/imageContext.ts"
import { sampleWorkloadImage } from "../../infra/images/imageNames.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { NatsTestServer, natsTestLayer } from "../harness/natsServer.ts"
import { eventually } from "../support/eventually.ts"
import { collectSignals, expectHeartbeatsAndTelemetry } from "../support/instanceSignals.ts"

// Two tenants, one client each: A attacks from inside its shadow, B is the target.
const tenantA = `na${randomUUID().slice(0, 8)}`
const tenantB = `nb${randomUUID().slice(0, 8)}`
const docker = new Docker()

const cleanup = Effect.promise(async () => {
  for (const tenant of [tenantA, tenantB]) {
    const filters = { label: [`umbra.tenant=${tenant}`] }
    for (const container of await docker.listContainers({ all: true, filters })) await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined)
    for (const volume of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(volume.Name).remove().catch(() => undefined)
    for (const network of await docker.listNetworks({ filters })) await docker.getNetwork(network.Id).remove().catch(() => undefined)
  }
})

const images = Layer.effectDiscard(buildImages().pipe(Effect.orDie, Effect.andThen(Effect.addFinalizer(() => cleanup))))
const runtimeLayer = Layer.unwrap(
  Effect.gen(function* () {
    return dockerRuntimeLayer({ natsUrl: (yield* NatsTestServer).url, stopTimeoutSeconds: 2 })
  })
)
const testLayer = runtimeLayer.pipe(Layer.provideMerge(natsTestLayer), Layer.provideMerge(images))

const shadow = (tenant: string, clientId: string, instanceId: string, port: number): InstanceSpec => ({
  tenant,
  clientId,
  instanceId,
  role: "shadow",
  image: sampleWorkloadImage,
  env: { PORT: String(port), UMBRA_HEARTBEAT_MS: "200", UMBRA_TELEMETRY_MS: "500" },
  statePaths: ["/var/lib/umbra/state"],
  cpuMillis: 500,
  memoryMiB: 256,
  network: defaultNetwork
})

/**
 * A TCP connection attempt from inside a container, with node (the image's own): `data <first bytes>`,
 * `closed` (accepted, then closed unread), `error <code>`, or `timeout` (dropped on the way).
 */
const probe = `const s = require("net").connect(+process.argv[2], process.argv[1]);
s.setTimeout(2000, () => { console.log("timeout"); process.exit(0) });
s.on("data", (d) => { console.log("data " + String(d).slice(0, 4)); process.exit(0) });
s.on("close", () => { console.log("closed"); process.exit(0) });
s.on("error", (e) => { console.log("error " + e.code); process.exit(0) });
s.write("GET / HTTP/1.0\\r\\n\\r\\n")`

const connectFrom = (containerId: string, host: string, port: number) =>
  Effect.promise(() => promisify(execFile)("docker", ["exec", containerId, imagePaths.node, "-e", probe, host, String(port)])).pipe(
    Effect.map(({ stdout }) => stdout.trim())
  )

/** Opens `count` connections at once from inside a container and prints how many NATS greeted (its `INFO`). */
const greeted = `const net = require("net"); let greeted = 0, done = 0; const count = +process.argv[3];
for (let i = 0; i < count; i++) {
  const s = net.connect(+process.argv[2], process.argv[1]);
  let said = false;
  const finish = () => { if (said) return; said = true; if (++done === count) { console.log(greeted); process.exit(0) } };
  s.setTimeout(3000, finish); s.on("error", finish); s.on("close", finish);
  s.on("data", (d) => { if (String(d).startsWith("INFO")) greeted++; finish() });
}`

const connectionsFrom = (containerId: string, host: string, port: number, count: number) =>
  Effect.promise(() => promisify(execFile)("docker", ["exec", containerId, imagePaths.node, "-e", greeted, host, String(port), String(count)])).pipe(
    Effect.map(({ stdout }) => Number(stdout.trim()))
  )

const networkOf = (container: Docker.ContainerInspectInfo) => Object.values(container.NetworkSettings.Networks)[0]!

layer(testLayer, { excludeTestServices: true, timeout: "170 seconds" })("client networks on Docker", (it) => {
  it.effect("a shadow reaches its own agent path and nothing of another client: not its instance, its agent path, its endpoint, or the host", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const server = yield* NatsTestServer
      const nc = yield* NatsConnection
      const natsPort = Number(new URL(server.url).port)
      const [portA, portB] = [yield* Effect.promise(freePort), yield* Effect.promise(freePort)]
      const signalsA = yield* collectSignals(nc, tenantA, "shd-a")
      const a = yield* runtime.create(shadow(tenantA, "x", "shd-a", portA))
      const b = yield* runtime.create(shadow(tenantB, "y", "shd-b", portB))
      const [inspectedA, inspectedB] = yield* Effect.promise(() => Promise.all([docker.getContainer(a.runtimeId).inspect(), docker.getContainer(b.runtimeId).inspect()]))

      // What `docker inspect` shows: a user of its own, a network of its own, memory and swap capped, no secret.
      assert.strictEqual(inspectedA.Config.User, "65532:65532")
      assert.strictEqual(inspectedA.HostConfig.NetworkMode, `umbra-${tenantA}.x`)
      assert.strictEqual(inspectedA.HostConfig.MemorySwap, inspectedA.HostConfig.Memory)
      assert.isAbove(inspectedA.HostConfig.Memory ?? 0, 0)
      const env = inspectedA.Config.Env ?? []
      assert.deepStrictEqual(env.filter((entry) => /^NATS_(USER|PASSWORD|TOKEN|NKEY|SEED)=/.test(entry)), [])
      const gatewayA = networkOf(inspectedA).Gateway
      assert.include(env, `NATS_URL=nats://${gatewayA}:${natsPort}`)

      // Its own agent path works: the agent beats through it, and NATS answers a connection on it.
      yield* expectHeartbeatsAndTelemetry(signalsA, "shd-a")
      assert.strictEqual(yield* connectFrom(a.runtimeId, gatewayA, natsPort), "data INFO")

      // The router's way in works: the workload's PORT on the host's loopback.
      yield* eventually(Effect.promise(() => fetch(`http://127.0.0.1:${portB}/healthz`).then(() => true, () => false)), 30_000, "B served on loopback")
      const b_ = networkOf(inspectedB)
      const attempts = {
        "B's instance": yield* connectFrom(a.runtimeId, b_.IPAddress, portB),
        "B's agent path": yield* connectFrom(a.runtimeId, b_.Gateway, natsPort),
        "B's PORT on the host, by A's gateway": yield* connectFrom(a.runtimeId, gatewayA, portB),
        "NATS on the host's loopback": yield* connectFrom(a.runtimeId, "127.0.0.1", natsPort),
        "B's PORT on the host's loopback": yield* connectFrom(a.runtimeId, "127.0.0.1", portB)
      }
      for (const [what, outcome] of Object.entries(attempts)) {
        assert.match(outcome, /^(timeout|closed|error E\w+)$/, `${what}: ${outcome}`)
      }
      // A workload opening connections by the dozen gets a bounded share of the relay, not one NATS connection each.
      const many = yield* connectionsFrom(a.runtimeId, gatewayA, natsPort, 64)
      assert.isAtLeast(many, 1)
      assert.isAtMost(many, 32)

      // And B's instance is untouched by it.
      assert.isTrue((yield* runtime.inspect(instanceKey(tenantB, "shd-b")))?.running)
    }))
})
