// @module-tag docker
import { randomUUID } from "node:crypto"
import { assert, layer } from "@effect/vitest"
import Docker from "dockerode"
import { Effect, Layer, Stream } from "effect"
import { defaultNetwork, type Network } from "../../domain/profile/template.ts"
import { layer as dockerRuntimeLayer } from "../../infra/docker/dockerRuntime.ts"
import { buildImages } from "../../infra/images/imageBuild.ts"
import { agentImage, sampleWorkloadImage } from "../../infra/images/imageNames.ts"
import { NatsConnection } from "../../infra/nats/connection.ts"
import { freePort } from "../../infra/nats/natsServerProcess.ts"
import { InstanceRuntime, instanceKey, type InstanceSpec } from "../../src/instanceRuntime.ts"
import { NatsTestServer, natsTestLayer } from "../harness/natsServer.ts"
import { collectSignals, expectControlReplies, expectHeartbeatsAndTelemetry, expectReconnect } from "../support/instanceSignals.ts"

const tenant = `dt${randomUUID().slice(0, 8)}`
const key = (instanceId: string) => instanceKey(tenant, instanceId)
const docker = new Docker()
const inspectContainer = (id: string) => Effect.promise(() => docker.getContainer(id).inspect())

/** Removes every container, volume and network of this file's tenant, whatever a failed test left. */
const cleanup = Effect.promise(async () => {
  const filters = { label: [`umbra.tenant=${tenant}`] }
  for (const container of await docker.listContainers({ all: true, filters })) await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined)
  for (const volume of (await docker.listVolumes({ filters })).Volumes ?? []) await docker.getVolume(volume.Name).remove().catch(() => undefined)
  for (const network of await docker.listNetworks({ filters })) await docker.getNetwork(network.Id).remove().catch(() => undefined)
})

const images = Layer.effectDiscard(buildImages().pipe(Effect.orDie, Effect.andThen(Effect.addFinalizer(() => cleanup))))

const runtimeLayer = Layer.unwrap(Effect.gen(function* () {
  const server = yield* NatsTestServer
  return dockerRuntimeLayer({ natsUrl: server.url, stopTimeoutSeconds: 5 })
}))

const testLayer = runtimeLayer.pipe(Layer.provideMerge(natsTestLayer), Layer.provideMerge(images))

const spec = (instanceId: string, port: number, overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
  tenant,
  clientId: "c1",
  instanceId,
  role: "shadow",
  image: sampleWorkloadImage,
  env: {
    PORT: String(port),
    UMBRA_READY_URL: `http://127.0.0.1:${port}/healthz`,
    UMBRA_HEARTBEAT_MS: "200",
    UMBRA_TELEMETRY_MS: "500"
  },
  statePaths: ["/var/lib/umbra/state"],
  cpuMillis: 500,
  memoryMiB: 256,
  network: { vlan: 42, subnets: [], securityGroups: [{ name: "web", ingress: [{ protocol: "tcp", port, from: "10.0.0.0/8" }] }], egress: false },
  ...overrides
})

layer(testLayer, { excludeTestServices: true, timeout: "170 seconds" })("docker runtime", (it) => {
  it.effect("creates a hardened shadow with limits, labels and state volumes, as a non-root user on its client's network", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const info = yield* runtime.create(spec("shd-limits", yield* Effect.promise(freePort)))
      assert.deepInclude(info, { tenant, clientId: "c1", instanceId: "shd-limits", role: "shadow", cpuMillis: 500, memoryMiB: 256, running: true })
      const inspected = yield* inspectContainer(info.runtimeId)
      assert.strictEqual(inspected.Name, `/umbra-${tenant}.shd-limits`)
      const host = inspected.HostConfig
      assert.strictEqual(host.NanoCpus, 500_000_000)
      assert.strictEqual(host.Memory, 256 * 1024 * 1024)
      assert.strictEqual(host.MemorySwap, host.Memory)
      assert.strictEqual(host.PidsLimit, 256)
      assert.strictEqual(inspected.Config.User, "65532:65532")
      assert.deepStrictEqual(host.CapDrop, ["ALL"])
      assert.include(host.SecurityOpt ?? [], "no-new-privileges")
      assert.isTrue(host.ReadonlyRootfs)
      assert.isFalse(host.Privileged)
      assert.isTrue(host.Init)
      assert.strictEqual(host.NetworkMode, `umbra-${tenant}.c1`)
      assert.property(host.Tmpfs ?? {}, "/tmp")
      const labels = inspected.Config.Labels
      assert.deepInclude(labels, {
        "umbra.tenant": tenant,
        "umbra.client": "c1",
        "umbra.instance": "shd-limits",
        "umbra.role": "shadow",
        "umbra.network.vlan": "42",
        "umbra.network.egress": "false"
      })
      assert.include(labels["umbra.network.security-groups"], "10.0.0.0/8")
      const state = inspected.Mounts.find((mount) => mount.Destination === "/var/lib/umbra/state")
      assert.strictEqual(state?.Type, "volume")
      assert.isTrue(state?.RW)
    }))

  it.effect("resizes a running instance without restarting it", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const before = yield* inspectContainer((yield* runtime.inspect(key("shd-limits")))!.runtimeId)
      const resized = yield* runtime.resize(key("shd-limits"), { cpuMillis: 1_250, memoryMiB: 384 })
      assert.deepInclude(resized, { cpuMillis: 1_250, memoryMiB: 384, running: true, runtimeId: before.Id })
      const after = yield* inspectContainer(before.Id)
      assert.strictEqual(after.HostConfig.NanoCpus, 1_250_000_000)
      assert.strictEqual(after.HostConfig.Memory, 384 * 1024 * 1024)
      assert.strictEqual(after.State.StartedAt, before.State.StartedAt)
      assert.strictEqual(after.RestartCount, before.RestartCount)
    }))

  it.effect("lists instances by label, reports stats, and removes idempotently with their volumes", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const production = yield* runtime.create({ ...spec("prd-list", yield* Effect.promise(freePort)), role: "production", image: agentImage })
      const all = yield* runtime.list({ tenant })
      assert.includeMembers(all.map((info) => info.instanceId), ["shd-limits", "prd-list"])
      assert.deepStrictEqual((yield* runtime.list({ tenant, role: "production" })).map((info) => info.runtimeId), [production.runtimeId])
      const [usage] = yield* runtime.stats(key("shd-limits")).pipe(Stream.take(1), Stream.runCollect)
      assert.isAbove(usage!.memBytes, 0)
      assert.isAtLeast(usage!.cpu, 0)
      yield* runtime.stop(key("prd-list"))
      assert.isFalse((yield* runtime.inspect(key("prd-list")))!.running)
      yield* runtime.remove(key("prd-list"))
      yield* runtime.remove(key("prd-list"))
      assert.isUndefined(yield* runtime.inspect(key("prd-list")))
      const volumes = yield* Effect.promise(() => docker.listVolumes({ filters: { label: ["umbra.instance=prd-list"] } }))
      assert.lengthOf(volumes.Volumes ?? [], 0)
    }))

  it.effect("builds the client's network from the profile: its subnet, a bridge of Umbra's, PORT published on loopback; none outside the pool", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const network: Network = { ...defaultNetwork, subnets: ["10.213.7.0/24"], securityGroups: [{ name: "api", ingress: [{ protocol: "tcp", port: 9443, from: "10.213.0.0/16" }] }] }
      const info = yield* runtime.create({ ...spec("shd-isolated", 8443), clientId: "isolated", image: agentImage, network })
      const inspected = yield* inspectContainer(info.runtimeId)
      const networkName = `umbra-${tenant}.isolated`
      assert.strictEqual(inspected.HostConfig.NetworkMode, networkName)
      assert.deepStrictEqual(inspected.HostConfig.PortBindings, {
        "8443/tcp": [{ HostIp: "127.0.0.1", HostPort: "8443" }],
        "9443/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }]
      })
      const created = yield* Effect.promise(() => docker.getNetwork(networkName).inspect())
      assert.strictEqual(created.IPAM?.Config?.[0]?.Subnet, "10.213.7.0/24")
      assert.match(created.Options?.["com.docker.network.bridge.name"] ?? "", /^umb-[0-9a-f]{11}$/)
      yield* runtime.remove(key("shd-isolated"))
      const left = yield* Effect.promise(() => docker.listNetworks({ filters: { name: [networkName] } }))
      assert.lengthOf(left, 0)

      // A tenant naming the host's own networks (or loopback) would take over its routes.
      for (const subnets of [["192.168.1.0/24"], ["127.0.0.0/8"], ["10.0.0.0/8"]]) {
        const refused = yield* runtime.create({ ...spec("shd-outside", 8444), clientId: "outside", network: { ...defaultNetwork, subnets } }).pipe(Effect.flip)
        assert.include(refused.message, "outside the client network pool")
      }
      assert.isUndefined(yield* runtime.inspect(key("shd-outside")))
    }))

  it.effect("runs the agent: heartbeats, telemetry, control replies, an exportable state volume, reconnects", () =>
    Effect.gen(function* () {
      const runtime = yield* InstanceRuntime
      const server = yield* NatsTestServer
      const nc = yield* NatsConnection
      const signals = yield* collectSignals(nc, tenant, "shd-limits")
      yield* expectHeartbeatsAndTelemetry(signals, "shd-limits")
      const info = (yield* runtime.inspect(key("shd-limits")))!
      // The state path is a volume, so the engine can export it (a tmpfs it could not).
      const archiveBytes = yield* Effect.promise(async () => {
        let bytes = 0
        for await (const chunk of await docker.getContainer(info.runtimeId).getArchive({ path: "/var/lib/umbra/state" })) bytes += (chunk as Buffer).length
        return bytes
      })
      assert.isAbove(archiveBytes, 100_000)
      yield* expectReconnect(server, signals)
      yield* expectControlReplies(nc, signals, tenant, "shd-limits")
      yield* runtime.remove(key("shd-limits"))
    }).pipe(Effect.scoped))
})
