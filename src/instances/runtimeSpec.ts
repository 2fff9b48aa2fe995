import type { InstanceSpecification } from "../../domain/instance/instance.ts"
import { instancePort } from "../../domain/instance/instancePort.ts"
import type { InstanceRole, InstanceSpec } from "../instanceRuntime.ts"

/** The agent's environment besides what each instance gets: where NATS is and how often to beat. */
export interface AgentSettings {
  readonly natsUrl: string
  readonly heartbeatMs: number
}

/**
 * What the runtime is asked to start: a PORT to listen on, the template's settings, and the agent's own
 * variables (with the template's telemetry interval and ready path). A shadow takes the template's PORT when it names one; a production instance always gets its
 * own, since it runs beside the shadow on the same network while traffic moves over.
 */
export const instanceSpec = (
  role: InstanceRole,
  tenant: string,
  instanceId: string,
  spec: Omit<InstanceSpecification, "role">,
  agent: AgentSettings,
  preload: ReadonlyArray<string> = []
): InstanceSpec => {
  const port = String(instancePort(instanceId))
  return {
    tenant,
    clientId: spec.clientId,
    instanceId,
    role,
    image: spec.template.image,
    ...(spec.template.command === undefined ? {} : { command: spec.template.command }),
    env: {
      PORT: port,
      ...spec.template.settings,
      ...(role === "production" ? { PORT: port } : {}),
      NATS_URL: agent.natsUrl,
      UMBRA_ROLE: role,
      UMBRA_CLIENT_ID: spec.clientId,
      UMBRA_TENANT: tenant,
      UMBRA_INSTANCE_ID: instanceId,
      UMBRA_HEARTBEAT_MS: String(agent.heartbeatMs),
      ...(spec.template.telemetryMs === undefined ? {} : { UMBRA_TELEMETRY_MS: String(spec.template.telemetryMs) }),
      ...(spec.template.readyPath === undefined ? {} : { UMBRA_READY_PATH: spec.template.readyPath }),
      UMBRA_STATE_PATHS: spec.template.statePaths.join(","),
      ...(preload.length === 0 ? {} : { UMBRA_PRELOAD_FILES: JSON.stringify(preload) })
    },
    statePaths: spec.template.statePaths,
    ...(spec.template.sharedStatePaths === undefined ? {} : { sharedStatePaths: spec.template.sharedStatePaths }),
    cpuMillis: spec.resources.cpuMillis,
    memoryMiB: spec.resources.memoryMiB,
    network: spec.network
  }
}

export const shadowSpec = (tenant: string, instanceId: string, spec: Omit<InstanceSpecification, "role">, agent: AgentSettings) =>
  instanceSpec("shadow", tenant, instanceId, spec, agent)

/** Where an instance started from `spec` answers HTTP on the host's loopback. */
export const upstreamUrl = (spec: InstanceSpec) => `http://127.0.0.1:${spec.env["PORT"]}`
