/** The labels Umbra puts on its containers, volumes and networks: how it finds its own and whose they are. */
export const label = {
  tenant: "umbra.tenant",
  client: "umbra.client",
  instance: "umbra.instance",
  role: "umbra.role",
  statePaths: "umbra.state-paths",
  placement: "umbra.network.placement",
  vlan: "umbra.network.vlan",
  securityGroups: "umbra.network.security-groups",
  subnets: "umbra.network.subnets",
  egress: "umbra.network.egress",
  /** On a client network: the port of its agent path (the NATS port of the Umbra that made it). */
  agentPort: "umbra.network.agent-port"
} as const
