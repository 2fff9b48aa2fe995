import type { InstanceSpecification } from "../../domain/instance/instance.ts"
import { instancePort } from "../../domain/instance/instancePort.ts"
import type { InstanceSpec } from "../instanceRuntime.ts"

/** The agent's environment besides what each instance gets: where NATS is and how often to beat. */
export interface AgentSettings {
  readonly natsUrl: string
  readonly heartbeatMs: number
}

/**
 * What the runtime is asked to start for a shadow: a PORT to listen on (unless the template sets one), the
 * template's settings, and the agent's own variables.
 */
export const shadowSpec = (tenant: string, instanceId: string, spec: InstanceSpecification, agent: AgentSettings): InstanceSpec => ({
  tenant,
  clientId: spec.clientId,
  instanceId,
  role: "shadow",
  image: spec.template.image,
  ...(spec.template.command === undefined ? {} : { command: spec.template.command }),
  env: {
    PORT: String(instancePort(instanceId)),
    ...spec.template.settings,
    NATS_URL: agent.natsUrl,
    UMBRA_CLIENT_ID: spec.clientId,
    UMBRA_TENANT: tenant,
    UMBRA_INSTANCE_ID: instanceId,
    UMBRA_HEARTBEAT_MS: String(agent.heartbeatMs),
    UMBRA_STATE_PATHS: spec.template.statePaths.join(",")
  },
  statePaths: spec.template.statePaths,
  cpuMillis: spec.resources.cpuMillis,
  memoryMiB: spec.resources.memoryMiB,
  network: spec.network
})
