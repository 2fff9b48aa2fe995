import { createHash } from "node:crypto"
import type Docker from "dockerode"
import type { InstanceSpec } from "../../src/instanceRuntime.ts"
import { label } from "./labels.ts"
import { type Cidr, cidrContains, formatAddress, parseCidr } from "./cidr.ts"

/** Every client network's bridge is named with this prefix: the isolation rules match it. */
export const bridgePrefix = "umb-"

// A dot never occurs in a tenant or id token: tenant `a-b` with client `c` and tenant `a` with client `b-c` differ.
export const clientNetworkName = (tenant: string, clientId: string) => `umbra-${tenant}.${clientId}`

/** The bridge's interface name: at most 15 characters, so a hash of the network's name. */
export const bridgeName = (tenant: string, clientId: string) =>
  `${bridgePrefix}${createHash("sha256").update(clientNetworkName(tenant, clientId)).digest("hex").slice(0, 11)}`

/**
 * Where client networks take their subnets: a profile's subnets must lie inside it (a tenant naming the
 * host's own networks, or loopback, would take over the host's routes), and a profile that names none gets
 * a /24 of it.
 */
export const defaultSubnetPool = "10.128.0.0/9"

/**
 * The `attempt`-th /24 of the pool for a client: a hash of its network's name picks the first, so a client
 * keeps its subnet across restarts; an attempt after an overlap takes the next.
 */
export const candidateSubnet = (pool: Cidr, tenant: string, clientId: string, attempt: number): string => {
  const slots = 2 ** Math.max(0, 24 - pool.prefix)
  const first = createHash("sha256").update(clientNetworkName(tenant, clientId)).digest().readUInt32BE(0) % slots
  const slot = (first + attempt) % slots
  const base = (pool.base + slot * 256) >>> 0
  return `${formatAddress(base)}/24`
}

/** The profile's subnets that lie outside the pool (each refused with the network). */
export const subnetsOutside = (pool: Cidr, subnets: ReadonlyArray<string>) =>
  subnets.filter((subnet) => {
    const parsed = parseCidr(subnet)
    return parsed === undefined || !cidrContains(pool, parsed)
  })

/** The subnet's first address: the host's on the bridge (named, since the engine reports none it chose itself). */
const gatewayOf = (subnet: string) => {
  const parsed = parseCidr(subnet)
  return parsed === undefined ? undefined : formatAddress(parsed.base + 1)
}

/**
 * The client's bridge network: the profile's subnets (or one of the pool's), the bridge named for the
 * isolation rules, and the agent path's port as a label so that a restarted Umbra serves it again. Never
 * `Internal`: the engine publishes no port of an internal network, and the router reaches an instance
 * through its published port on loopback; Umbra's own rules keep the network apart instead.
 */
export const clientNetworkSettings = (spec: InstanceSpec, subnets: ReadonlyArray<string>, agentPort: number): Docker.NetworkCreateOptions => ({
  Name: clientNetworkName(spec.tenant, spec.clientId),
  Driver: "bridge",
  CheckDuplicate: true,
  Internal: false,
  Options: { "com.docker.network.bridge.name": bridgeName(spec.tenant, spec.clientId) },
  IPAM: { Driver: "default", Config: subnets.map((subnet) => ({ Subnet: subnet, Gateway: gatewayOf(subnet) })) },
  Labels: {
    [label.tenant]: spec.tenant,
    [label.client]: spec.clientId,
    [label.agentPort]: String(agentPort),
    [label.egress]: String(spec.network.egress),
    ...(spec.network.vlan === undefined ? {} : { [label.vlan]: String(spec.network.vlan) })
  }
})

/** A client network's gateway (the host's address on its bridge) and its subnets, from the engine's view of it. */
export interface ClientNetwork {
  readonly name: string
  readonly bridge: string
  readonly gateway: string
  readonly subnets: ReadonlyArray<Cidr>
}

export const clientNetworkOf = (inspected: Docker.NetworkInspectInfo): ClientNetwork | undefined => {
  const configs = inspected.IPAM?.Config ?? []
  const gateway = configs.find((config) => config.Gateway !== undefined && config.Gateway !== "")?.Gateway
  const subnets = configs.flatMap((config) => {
    const parsed = config.Subnet === undefined ? undefined : parseCidr(config.Subnet)
    return parsed === undefined ? [] : [parsed]
  })
  const bridge = inspected.Options?.["com.docker.network.bridge.name"]
  return gateway === undefined || bridge === undefined ? undefined : { name: inspected.Name, bridge, gateway, subnets }
}
