import { availableParallelism } from "node:os"
import { resolve } from "node:path"
import { Readable } from "node:stream"
import Docker from "dockerode"
import { Effect, Layer, Option, Schema, Stream } from "effect"
import { InstanceCredentials } from "../../src/instanceCredentials.ts"
import {
  type InstanceInfo,
  type InstanceKey,
  type InstanceRole,
  InstanceRuntime,
  type InstanceSpec,
  type ResourceUsage,
  RuntimeFailed
} from "../../src/instanceRuntime.ts"
import { makeAgentPaths } from "./agentPath.ts"
import { failure, statusOf } from "./dockerFailure.ts"
import { parseCidr } from "./cidr.ts"
import {
  candidateSubnet,
  type ClientNetwork,
  clientNetworkName,
  clientNetworkOf,
  clientNetworkSettings,
  defaultSubnetPool,
  subnetsOutside
} from "./clientNetwork.ts"
import {
  containerSettings,
  cpuMillisOf,
  memoryBytes,
  memoryMiBOf,
  nanoCpus,
  type NetworkPlacement,
  ownedBy,
  ownerFilter
} from "./containerSettings.ts"
import { credentialsSource, removeMountedCredentials, writeMountedCredentials } from "./credentialsMount.ts"
import { DockerStatsJson, usageOf } from "./dockerStats.ts"
import { label } from "./labels.ts"
import { allowEgress, installIsolation } from "./networkIsolation.ts"
import { type AgentCredentials, agentCredentialsEnv } from "../natsAuth/natsAccess.ts"

export interface DockerRuntimeOptions {
  /** The engine's socket; dockerode's default (DOCKER_HOST or /var/run/docker.sock) otherwise. */
  readonly socketPath?: string
  /** Given to instances whose spec sets no NATS_URL. */
  readonly natsUrl?: string
  /** What the agents share to connect to NATS with, when no `InstanceCredentials` mints each its own. */
  readonly agentCredentials?: AgentCredentials
  /** A host directory only Umbra may enter, for the files of minted credentials its containers mount. */
  readonly credentialsDir?: string
  /** Where each instance is attached (see `NetworkPlacement`); its client's own network by default. */
  readonly placement?: (spec: InstanceSpec) => NetworkPlacement
  /** The range client networks' subnets come from and must lie in (`defaultSubnetPool` by default). */
  readonly subnetPool?: string
  readonly pidsLimit?: number
  readonly tmpSizeMiB?: number
  /** Seconds `stop` waits after SIGTERM before SIGKILL. */
  readonly stopTimeoutSeconds?: number
  /** The most CPU an instance may be given (the engine refuses more than the host has): all of the host's by default. */
  readonly maxCpuMillis?: number
}

/**
 * A dockerode call as an Effect, aborted when interrupted; `tolerate` lists status codes that mean
 * "already so" (e.g. 304, 404).
 */
const call = <A>(instanceId: string, what: string, run: (signal: AbortSignal) => Promise<A>, tolerate: ReadonlyArray<number> = []) =>
  Effect.tryPromise({ try: run, catch: (cause) => cause }).pipe(
    Effect.map((value): A | undefined => value),
    Effect.catch((cause) => {
      const status = statusOf(cause)
      return status !== undefined && tolerate.includes(status) ? Effect.succeed(undefined) : Effect.fail(failure(instanceId, what)(cause))
    })
  )

const roleOf = (value: string | undefined): InstanceRole => (value === "production" ? "production" : "shadow")

const infoOf = (container: Docker.ContainerInspectInfo): InstanceInfo => {
  const labels = container.Config.Labels ?? {}
  return {
    tenant: labels[label.tenant] ?? "",
    clientId: labels[label.client] ?? "",
    instanceId: labels[label.instance] ?? "",
    role: roleOf(labels[label.role]),
    runtimeId: container.Id,
    image: container.Config.Image,
    running: container.State.Running,
    cpuMillis: cpuMillisOf(container.HostConfig.NanoCpus ?? 0),
    memoryMiB: memoryMiBOf(container.HostConfig.Memory ?? 0)
  }
}

const make = (options: DockerRuntimeOptions) =>
  Effect.gen(function* () {
    const docker = new Docker(options.socketPath === undefined ? undefined : { socketPath: options.socketPath })
    yield* call("-", "ping", () => docker.ping())
    const credentials = Option.getOrUndefined(yield* Effect.serviceOption(InstanceCredentials))
    // The engine takes only absolute paths to mount.
    const credentialsDir = options.credentialsDir === undefined ? undefined : resolve(options.credentialsDir)
    if (credentials !== undefined && credentialsDir === undefined) {
      return yield* new RuntimeFailed({ instanceId: "-", message: "credentials per instance need a directory for their files (credentialsDir)" })
    }
    const placement = options.placement ?? (() => "client" as const)
    const natsUrl = new URL(options.natsUrl ?? "nats://127.0.0.1:4222")
    const agentPort = Number(natsUrl.port || "4222")
    const poolText = options.subnetPool ?? defaultSubnetPool
    const pool = parseCidr(poolText)
    if (pool === undefined || pool.prefix > 24) {
      return yield* new RuntimeFailed({ instanceId: "-", message: `the subnet pool ${poolText} is not an IPv4 CIDR of /24 or wider` })
    }
    const agentPaths = makeAgentPaths({ host: natsUrl.hostname, port: agentPort })
    yield* Effect.addFinalizer(() => agentPaths.closeAll)
    // Once per runtime, before its first client network: the rules may be gone since (a reboot).
    const isolation = yield* Effect.cached(installIsolation(agentPort))
    // A premium profile may expect more cores than this host has: the instance gets all of them, and says so in its info.
    const cpuMillis = (wanted: number) => Math.min(wanted, options.maxCpuMillis ?? availableParallelism() * 1000)

    /**
     * The containers labelled with both the tenant and the instance id (normally one; a crash between create
     * and remove may leave more): another tenant's container under the same id is not among them.
     */
    const containersOf = (key: InstanceKey) =>
      call(key.instanceId, "list", () => docker.listContainers({ all: true, filters: { label: ownerFilter(key) } })).pipe(
        Effect.map((found) => found ?? [])
      )

    /** A container by its engine id, if it is still there and still the key's (its labels are checked again). */
    const inspectById = (key: InstanceKey, id: string) =>
      call(key.instanceId, "inspect", () => docker.getContainer(id).inspect(), [404]).pipe(
        Effect.map((found) => (found === undefined || ownedBy(found.Config.Labels, key) ? found : undefined))
      )

    const inspectContainer = (key: InstanceKey) =>
      Effect.gen(function* () {
        const [first] = yield* containersOf(key)
        return first === undefined ? undefined : yield* inspectById(key, first.Id)
      })

    const inspect = Effect.fn("DockerRuntime.inspect")(function* (key: InstanceKey) {
      const found = yield* inspectContainer(key)
      return found === undefined ? undefined : infoOf(found)
    })

    const requiredContainer = (key: InstanceKey) =>
      inspectContainer(key).pipe(Effect.flatMap((found) =>
        found === undefined
          ? Effect.fail(new RuntimeFailed({ instanceId: key.instanceId, message: `no container for instance ${key.instanceId}` }))
          : Effect.succeed(found)
      ))

    const required = (key: InstanceKey) => requiredContainer(key).pipe(Effect.map(infoOf))

    /** The container holding one of the instance's declared state paths: no other path of it goes in or out. */
    const stateContainer = (key: InstanceKey, path: string) =>
      requiredContainer(key).pipe(Effect.flatMap((found) =>
        (found.Config.Labels?.[label.statePaths] ?? "").split(",").includes(path)
          ? Effect.succeed(found.Id)
          : Effect.fail(new RuntimeFailed({ instanceId: key.instanceId, message: `${path} is not a state path of instance ${key.instanceId}` }))
      ))

    const inspectNetwork = (instanceId: string, name: string) =>
      call(instanceId, "network inspect", () => docker.getNetwork(name).inspect() as Promise<Docker.NetworkInspectInfo>, [404])

    /** Serves the network's agent path and sets whether it may forward out; the network as the engine has it. */
    const attach = (instanceId: string, inspected: Docker.NetworkInspectInfo, egress: boolean) =>
      Effect.gen(function* () {
        const network = clientNetworkOf(inspected)
        if (network === undefined) {
          return yield* new RuntimeFailed({ instanceId, message: `the network ${inspected.Name} has no gateway or bridge of Umbra's` })
        }
        yield* agentPaths.open(network)
        yield* allowEgress(network.bridge, egress)
        return network
      })

    /**
     * The client's network, made if missing: the profile's subnets (inside the pool) or a free /24 of the
     * pool, isolated by Umbra's rules from the host and every other client before anything runs on it.
     */
    const ensureClientNetwork = (spec: InstanceSpec): Effect.Effect<ClientNetwork, RuntimeFailed> =>
      Effect.gen(function* () {
        const { instanceId } = spec
        yield* isolation
        const name = clientNetworkName(spec.tenant, spec.clientId)
        const existing = yield* inspectNetwork(instanceId, name)
        if (existing !== undefined) {
          if (existing.Labels?.[label.tenant] !== spec.tenant) {
            return yield* new RuntimeFailed({ instanceId, message: `the network ${name} is not the tenant's own` })
          }
          return yield* attach(instanceId, existing, spec.network.egress)
        }
        const outside = subnetsOutside(pool, spec.network.subnets)
        if (outside.length > 0) {
          return yield* new RuntimeFailed({ instanceId, message: `subnets outside the client network pool ${poolText}: ${outside.join(", ")}` })
        }
        const given = spec.network.subnets.length > 0
        for (let attempt = 0; attempt < (given ? 1 : 16); attempt++) {
          const subnets = given ? spec.network.subnets : [candidateSubnet(pool, spec.tenant, spec.clientId, attempt)]
          const created = yield* call(instanceId, "network create", () => docker.createNetwork(clientNetworkSettings(spec, subnets, agentPort)), [409]).pipe(
            Effect.map(() => true),
            // Another network holds that subnet: the pool's next /24.
            Effect.catch((error) => (!given && /overlap/i.test(error.message) ? Effect.succeed(false) : Effect.fail(error)))
          )
          if (!created) continue
          const inspected = yield* inspectNetwork(instanceId, name)
          if (inspected !== undefined) return yield* attach(instanceId, inspected, spec.network.egress)
        }
        return yield* new RuntimeFailed({ instanceId, message: `no free subnet for the network ${name} in ${poolText}` })
      })

    /** Removes the client network once no instance uses it (an engine refusing because it is in use is fine). */
    const releaseClientNetwork = (instanceId: string, name: string) =>
      Effect.gen(function* () {
        const inspected = yield* inspectNetwork(instanceId, name)
        yield* call(instanceId, "network remove", () => docker.getNetwork(name).remove(), [403, 404, 409])
        if (inspected === undefined || (yield* inspectNetwork(instanceId, name)) !== undefined) return
        yield* agentPaths.close(name)
        const network = clientNetworkOf(inspected)
        if (network !== undefined) yield* allowEgress(network.bridge, false)
      }).pipe(Effect.ignore)

    // The agent paths of this Umbra's networks made before a restart: their instances reconnect through them.
    const ours = yield* call("-", "network list", () => docker.listNetworks({ filters: { label: [`${label.agentPort}=${agentPort}`] } }))
    for (const network of ours ?? []) {
      const inspected = yield* inspectNetwork("-", network.Name)
      if (inspected === undefined) continue
      yield* isolation
      yield* attach("-", inspected, inspected.Labels?.[label.egress] === "true")
    }

    const credentialsFailed = (instanceId: string) => (error: { readonly message: string }) => new RuntimeFailed({ instanceId, message: error.message })

    /**
     * The host file of the instance's own credentials, minted unless its container exists already (its
     * credentials stay in force until it is removed); undefined when agents share credentials instead.
     */
    const ownCredentials = (spec: InstanceSpec) =>
      Effect.gen(function* () {
        if (credentials === undefined || credentialsDir === undefined) return undefined
        if ((yield* containersOf(spec)).length === 0) {
          const creds = yield* credentials.mint(spec).pipe(Effect.mapError(credentialsFailed(spec.instanceId)))
          yield* writeMountedCredentials(credentialsDir, spec, creds)
        }
        return credentialsSource(credentialsDir, spec)
      })

    const startContainer = (instanceId: string, id: string) => call(instanceId, "start", () => docker.getContainer(id).start(), [304])

    const create = Effect.fn("DockerRuntime.create")(function* (spec: InstanceSpec, createOptions?: { readonly start?: boolean }) {
      const shouldStart = createOptions?.start ?? true
      const where = placement(spec)
      const network = where === "client" ? yield* ensureClientNetwork(spec) : undefined
      const source = yield* ownCredentials(spec)
      const settings = containerSettings({ ...spec, cpuMillis: cpuMillis(spec.cpuMillis) }, {
        natsUrl: network === undefined ? options.natsUrl ?? natsUrl.href : `nats://${network.gateway}:${agentPort}`,
        agentEnv: agentCredentialsEnv(options.agentCredentials),
        ...(source === undefined ? {} : { credentialsSource: source }),
        pidsLimit: options.pidsLimit ?? 256,
        tmpSizeMiB: options.tmpSizeMiB ?? 64,
        placement: where
      })
      const created = yield* call(spec.instanceId, "create", () => docker.createContainer(settings), [409])
      if (created === undefined) {
        // The name is taken: a retried create finds its own container and makes sure it runs, if asked to.
        const existing = yield* required(spec)
        if (shouldStart) yield* startContainer(spec.instanceId, existing.runtimeId)
        return yield* required(spec)
      }
      if (shouldStart) {
        yield* startContainer(spec.instanceId, created.id).pipe(
          Effect.tapError(() => call(spec.instanceId, "remove", () => created.remove({ force: true }), [404]).pipe(Effect.ignore))
        )
      }
      const info = yield* required(spec)
      yield* Effect.logInfo(shouldStart ? "instance container started" : "instance container created, not started").pipe(
        Effect.annotateLogs({ tenant: spec.tenant, instanceId: spec.instanceId, containerId: info.runtimeId, network: where })
      )
      return info
    })

    const start = Effect.fn("DockerRuntime.start")(function* (key: InstanceKey) {
      const current = yield* required(key)
      if (current.running) return current
      yield* startContainer(key.instanceId, current.runtimeId)
      yield* Effect.logInfo("instance container started").pipe(Effect.annotateLogs({ ...key, containerId: current.runtimeId }))
      return yield* required(key)
    })

    const resize = Effect.fn("DockerRuntime.resize")(function* (
      key: InstanceKey,
      limits: { readonly cpuMillis: number; readonly memoryMiB: number }
    ) {
      const current = yield* required(key)
      const memory = memoryBytes(limits.memoryMiB)
      yield* call(key.instanceId, "update", () =>
        docker.getContainer(current.runtimeId).update({ NanoCpus: nanoCpus(cpuMillis(limits.cpuMillis)), Memory: memory, MemorySwap: memory }))
      return yield* required(key)
    })

    const stats = (key: InstanceKey): Stream.Stream<ResourceUsage, RuntimeFailed> =>
      Stream.unwrap(Effect.gen(function* () {
        const { instanceId } = key
        const info = yield* required(key)
        const raw = yield* call(instanceId, "stats", () => docker.getContainer(info.runtimeId).stats({ stream: true }))
        if (raw === undefined) return Stream.empty
        return Stream.fromAsyncIterable(raw as AsyncIterable<Uint8Array>, failure(instanceId, "stats")).pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.filter((line) => line.trim() !== ""),
          Stream.mapEffect((line) =>
            Schema.decodeUnknownEffect(DockerStatsJson)(line).pipe(
              Effect.mapError((error) => new RuntimeFailed({ instanceId, message: `unexpected docker stats of ${instanceId}: ${error.message}` }))
            )
          ),
          // The engine's first sample has no previous one to measure CPU against.
          Stream.filter((sample) => sample.precpu_stats.system_cpu_usage !== undefined),
          Stream.map(usageOf)
        )
      }))

    /** `<path>/.` makes the engine archive the path's content, named `./…`, rather than the path itself. */
    const exportState = (key: InstanceKey, path: string): Stream.Stream<Uint8Array, RuntimeFailed> =>
      Stream.unwrap(Effect.gen(function* () {
        const { instanceId } = key
        const id = yield* stateContainer(key, path)
        const raw = yield* call(instanceId, "archive export", () => docker.getContainer(id).getArchive({ path: `${path}/.` }))
        if (raw === undefined) return Stream.empty
        return Stream.fromAsyncIterable(raw as AsyncIterable<Uint8Array>, failure(instanceId, "archive export"))
      }))

    /** The archive goes to the engine as it is read (chunked upload); a failing archive aborts the upload. */
    const importState = Effect.fn("DockerRuntime.importState")(function* (
      key: InstanceKey,
      path: string,
      archive: Stream.Stream<Uint8Array, RuntimeFailed>
    ) {
      const { instanceId } = key
      const id = yield* stateContainer(key, path)
      yield* Effect.acquireUseRelease(
        Effect.sync(() => Readable.from(Stream.toAsyncIterable(archive), { objectMode: false })),
        (body) => call(instanceId, "archive import", (signal) => docker.getContainer(id).putArchive(body, { path, abortSignal: signal })),
        (body) => Effect.sync(() => body.destroy())
      )
    })

    const stop = Effect.fn("DockerRuntime.stop")(function* (key: InstanceKey) {
      for (const container of yield* containersOf(key)) {
        yield* call(key.instanceId, "stop", () => docker.getContainer(container.Id).stop({ t: options.stopTimeoutSeconds ?? 10 }), [304, 404])
      }
    })

    const remove = Effect.fn("DockerRuntime.remove")(function* (key: InstanceKey) {
      const { instanceId } = key
      for (const container of yield* containersOf(key)) {
        const found = yield* inspectById(key, container.Id)
        yield* call(instanceId, "remove", () => docker.getContainer(container.Id).remove({ force: true }), [404])
        const labels = found?.Config.Labels ?? {}
        if (labels[label.placement] === "client" && found !== undefined) {
          yield* releaseClientNetwork(instanceId, found.HostConfig.NetworkMode ?? "")
        }
      }
      // The state volumes go with the instance: a launch exports them before it releases the shadow.
      const volumes = yield* call(instanceId, "volume list", () => docker.listVolumes({ filters: { label: ownerFilter(key) } }))
      for (const volume of volumes?.Volumes ?? []) {
        yield* call(instanceId, "volume remove", () => docker.getVolume(volume.Name).remove(), [404])
      }
      // Its credentials end with it: refused from here on, and the connections made with them closed.
      if (credentials !== undefined && credentialsDir !== undefined) {
        yield* credentials.revoke(key).pipe(Effect.mapError(credentialsFailed(instanceId)))
        yield* removeMountedCredentials(credentialsDir, key)
      }
    })

    const list = Effect.fn("DockerRuntime.list")(function* (filter?: { readonly tenant?: string; readonly role?: InstanceRole }) {
      const labels = [
        label.instance,
        ...(filter?.tenant === undefined ? [] : [`${label.tenant}=${filter.tenant}`]),
        ...(filter?.role === undefined ? [] : [`${label.role}=${filter.role}`])
      ]
      const found = yield* call("*", "list", () => docker.listContainers({ all: true, filters: { label: labels } }))
      const infos: Array<InstanceInfo> = []
      for (const container of found ?? []) {
        const inspected = yield* call(container.Labels[label.instance] ?? container.Id, "inspect", () => docker.getContainer(container.Id).inspect(), [404])
        if (inspected !== undefined) infos.push(infoOf(inspected))
      }
      return infos
    })

    return InstanceRuntime.of({ kind: "docker", create, start, resize, inspect, stats, stop, remove, exportState, importState, list })
  })

/** The instance runtime on a Docker engine (dockerode); fails to build when the engine does not answer. */
export const layer = (options: DockerRuntimeOptions = {}): Layer.Layer<InstanceRuntime, RuntimeFailed> =>
  Layer.effect(InstanceRuntime, make(options))
