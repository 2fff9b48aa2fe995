import type Docker from "dockerode"
import type { InstanceKey, InstanceSpec } from "../../src/instanceRuntime.ts"
import { clientNetworkName } from "./clientNetwork.ts"
import { label } from "./labels.ts"
import { mountedCredentialsPath } from "./credentialsMount.ts"

/**
 * How an instance is attached: `client` (the default) puts it on its client's own bridge network (see
 * `clientNetwork.ts`), where it reaches NATS through the agent path on the network's gateway and the router
 * reaches its PORT published on the host's loopback; `host` shares the host's network and isolates nothing.
 */
export type NetworkPlacement = "host" | "client"

export interface ContainerSettingsOptions {
  /** Where the agent finds NATS: on a client network, its agent path (it replaces what the spec says). */
  readonly natsUrl: string
  /** The agent's shared NATS credentials, last so that nothing else sets them. */
  readonly agentEnv?: Readonly<Record<string, string>>
  /** The host file of the instance's own credentials, mounted read-only for its agent (instead of `agentEnv`). */
  readonly credentialsSource?: string
  readonly pidsLimit: number
  readonly tmpSizeMiB: number
  readonly placement: NetworkPlacement
}

const mib = 1024 * 1024

// A dot never occurs in a tenant or id token: tenant `a-b` with id `c` and tenant `a` with id `b-c` get different names.
export const containerName = (tenant: string, instanceId: string) => `umbra-${tenant}.${instanceId}`
export const stateVolumeName = (tenant: string, instanceId: string, index: number) => `umbra-${tenant}.${instanceId}.state-${index}`
export const sharedVolumeName = (tenant: string, instanceId: string, index: number) => `umbra-${tenant}.${instanceId}.shared-${index}`

export const nanoCpus = (cpuMillis: number) => Math.round(cpuMillis * 1_000_000)
export const memoryBytes = (memoryMiB: number) => Math.round(memoryMiB * mib)
export const cpuMillisOf = (nanoCpus: number) => Math.round(nanoCpus / 1_000_000)
export const memoryMiBOf = (bytes: number) => Math.round(bytes / mib)

export const ownerLabels = (spec: Pick<InstanceSpec, "tenant" | "clientId" | "instanceId" | "role">) => ({
  [label.tenant]: spec.tenant,
  [label.client]: spec.clientId,
  [label.instance]: spec.instanceId,
  [label.role]: spec.role
})

/** The engine's label filter for one instance's containers and volumes: both labels must match. */
export const ownerFilter = (key: InstanceKey) => [`${label.tenant}=${key.tenant}`, `${label.instance}=${key.instanceId}`]

export const ownedBy = (labels: Readonly<Record<string, string>> | undefined, key: InstanceKey) =>
  labels?.[label.tenant] === key.tenant && labels[label.instance] === key.instanceId

/** The profile's network as labels, including what Docker cannot enforce (VLAN, security groups' sources). */
const networkLabels = (spec: InstanceSpec, placement: NetworkPlacement): Record<string, string> => ({
  [label.placement]: placement,
  [label.egress]: String(spec.network.egress),
  [label.subnets]: spec.network.subnets.join(","),
  [label.securityGroups]: JSON.stringify(spec.network.securityGroups),
  ...(spec.network.vlan === undefined ? {} : { [label.vlan]: String(spec.network.vlan) })
})

/**
 * What is published on the host's loopback: the instance's PORT on the same port number (the router's
 * upstream), and each security group's ingress port on a free one (the rule's source CIDR stays a label).
 */
const publishedPorts = (spec: InstanceSpec) => {
  const exposed: Record<string, Record<string, never>> = {}
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {}
  const publish = (key: string, hostPort: string) => {
    exposed[key] = {}
    bindings[key] = [{ HostIp: "127.0.0.1", HostPort: hostPort }]
  }
  for (const group of spec.network.securityGroups) {
    for (const rule of group.ingress) publish(`${rule.port}/${rule.protocol}`, "")
  }
  const port = spec.env["PORT"]
  if (port !== undefined) publish(`${port}/tcp`, port)
  return { exposed, bindings }
}

/** The instance's environment: the template's settings plus what the agent needs to find itself. */
const environment = (spec: InstanceSpec, options: ContainerSettingsOptions): Array<string> => {
  const env: Record<string, string> = {
    NATS_URL: options.natsUrl,
    // Where the workload listens: on a client network the router comes in through the bridge, not loopback.
    ...(options.placement === "client" ? { HOST: "0.0.0.0" } : {}),
    ...spec.env,
    ...(options.placement === "client" ? { NATS_URL: options.natsUrl } : {}),
    UMBRA_TENANT: spec.tenant,
    UMBRA_INSTANCE_ID: spec.instanceId,
    UMBRA_STATE_PATHS: spec.statePaths.join(","),
    // The container's own /tmp (a tmpfs): the agent empties it when the shadow is recycled.
    UMBRA_SCRATCH_PATHS: "/tmp",
    UMBRA_SHARED_STATE_PATHS: (spec.sharedStatePaths ?? []).join(","),
    // A path, not the secret: `docker inspect` shows the environment.
    ...(options.credentialsSource === undefined ? options.agentEnv : { NATS_CREDS: mountedCredentialsPath })
  }
  return Object.entries(env).map(([key, value]) => `${key}=${value}`)
}

/** A named volume of the instance, labelled as its own so that `remove` finds it. */
const volumeMount = (spec: InstanceSpec, source: string, target: string) => ({
  Type: "volume" as const,
  Source: source,
  Target: target,
  VolumeOptions: { NoCopy: false, Labels: ownerLabels(spec), DriverConfig: { Name: "local", Options: {} } }
})

/**
 * The container for a spec: limits, labels and a hardened host config. State and shared paths are named
 * volumes (they survive `docker update` and a restart, and `getArchive` reads them, which it cannot do for a
 * tmpfs); `/tmp` is a tmpfs; everything else is read-only.
 */
export const containerSettings = (spec: InstanceSpec, options: ContainerSettingsOptions): Docker.ContainerCreateOptions => {
  const { exposed, bindings } = publishedPorts(spec)
  const client = options.placement === "client"
  return {
    name: containerName(spec.tenant, spec.instanceId),
    Image: spec.image,
    ...(spec.command === undefined ? {} : { Cmd: [...spec.command] }),
    Env: environment(spec, options),
    Labels: { ...ownerLabels(spec), ...networkLabels(spec, options.placement), [label.statePaths]: spec.statePaths.join(",") },
    ...(client ? { ExposedPorts: exposed } : {}),
    HostConfig: {
      NanoCpus: nanoCpus(spec.cpuMillis),
      Memory: memoryBytes(spec.memoryMiB),
      // No swap: the memory limit is the instance's whole budget.
      MemorySwap: memoryBytes(spec.memoryMiB),
      PidsLimit: options.pidsLimit,
      // The agent runs its workload at nice 19; no process inside may raise a priority back (RLIMIT_NICE 0).
      Ulimits: [{ Name: "nice", Soft: 0, Hard: 0 }],
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      ReadonlyRootfs: true,
      Privileged: false,
      // tini as PID 1: a SIGTERM that arrives before the agent installs its handler still ends it.
      Init: true,
      Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${options.tmpSizeMiB}m` },
      Mounts: [
        ...spec.statePaths.map((path, index) => volumeMount(spec, stateVolumeName(spec.tenant, spec.instanceId, index), path)),
        ...(spec.sharedStatePaths ?? []).map((path, index) => volumeMount(spec, sharedVolumeName(spec.tenant, spec.instanceId, index), path)),
        ...(options.credentialsSource === undefined
          ? []
          : [{ Type: "bind" as const, Source: options.credentialsSource, Target: mountedCredentialsPath, ReadOnly: true }])
      ],
      NetworkMode: client ? clientNetworkName(spec.tenant, spec.clientId) : "host",
      ...(client ? { PortBindings: bindings } : {}),
      // The watchdog decides about restarts (it records HeartbeatLost and recreates), not the engine.
      RestartPolicy: { Name: "no" }
    }
  }
}
