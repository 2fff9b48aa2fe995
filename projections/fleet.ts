import type { ShadowResources } from "../domain/instance/sizingPolicy.ts"
import { endedInstance } from "./endedInstance.ts"
import { patch, type Projection, put, remove } from "./projection.ts"

/** Production instances are a launch's; a recycled shadow is pooled until a client claims it. */
export const fleetRoles = ["shadow", "production", "pooled"] as const
export type FleetRole = (typeof fleetRoles)[number]

/**
 * An instance's state as the instance aggregate has it (`requested`, `started`, `ready`, `lost` — silent, or
 * the runtime refused to run it — and `recycled`); production is `provisioning` until its container is made,
 * `running` while its launch moves traffic, then, from the launch's completion, its instance's own.
 */
export const fleetStates = ["requested", "started", "ready", "lost", "recycled", "provisioning", "running"] as const
export type FleetState = (typeof fleetStates)[number]

export interface FleetRow {
  readonly instanceId: string
  readonly clientId: string
  readonly role: FleetRole
  readonly state: FleetState
  readonly resources: ShadowResources
  readonly image: string
  /** When it was requested (a shadow) or planned (production). */
  readonly created: string
  readonly lastHeartbeat: { readonly seq: number; readonly at: string; readonly ready: boolean } | null
}

export const fleetKeys = {
  /** Every instance row of a tenant starts with this. */
  instances: (tenant: string) => `${tenant}/instance/`,
  instance: (tenant: string, instanceId: string) => `${tenant}/instance/${instanceId}`
}

/**
 * Every instance of a tenant that is not gone: a terminated instance, a retired production and the
 * production of a rolled-back launch lose their row (the `Tenant` counts and the log keep their history).
 */
export const fleet: Projection = {
  name: "fleet",
  version: 1,
  handles: new Set([
    "ShadowRequested",
    "InstanceStarted",
    "InstanceReady",
    "InstanceResized",
    "HeartbeatLost",
    "InstanceRecreated",
    "InstanceStartFailed",
    "InstanceRecycled",
    "InstanceClaimed",
    "InstanceTerminated",
    "HeartbeatRecorded",
    "ProvisioningStarted",
    "ProductionProvisioned",
    "ProductionRetired",
    "LaunchRolledBack"
  ]),
  apply: (event, envelope) => {
    const key = (instanceId: string) => fleetKeys.instance(envelope.tenant, instanceId)
    const change = (instanceId: string, fields: Partial<FleetRow>) => [patch<FleetRow>(key(instanceId), (row) => ({ ...row, ...fields }))]
    const created = (row: Pick<FleetRow, "instanceId" | "clientId" | "role" | "state" | "resources" | "image">) => [
      put(key(row.instanceId), { ...row, created: envelope.at, lastHeartbeat: null } satisfies FleetRow)
    ]
    switch (event._tag) {
      case "ShadowRequested":
        return created({
          instanceId: event.instanceId,
          clientId: event.clientId,
          role: "shadow",
          state: "requested",
          resources: event.resources,
          image: event.template.image
        })
      case "InstanceStarted":
      case "InstanceRecreated":
        return change(event.instanceId, { state: "started" })
      case "InstanceReady":
        return change(event.instanceId, { state: "ready" })
      case "HeartbeatLost":
      case "InstanceStartFailed":
        return change(event.instanceId, { state: "lost" })
      case "InstanceResized":
        return change(event.instanceId, { resources: event.resources })
      case "InstanceRecycled":
        return change(event.instanceId, { role: "pooled", state: "recycled" })
      case "InstanceClaimed":
        return change(event.instanceId, { role: "shadow", state: "started", clientId: event.clientId, resources: event.resources })
      case "HeartbeatRecorded":
        return change(event.instanceId, { lastHeartbeat: { seq: event.seq, at: event.at, ready: event.ready } })
      case "ProvisioningStarted":
        return created({
          instanceId: event.productionInstanceId,
          clientId: event.clientId,
          role: "production",
          state: "provisioning",
          resources: event.resources,
          image: event.template.image
        })
      case "ProductionProvisioned":
        return change(event.productionInstanceId, { state: "running" })
      default: {
        const ended = endedInstance(event, envelope.tenant)
        return ended === undefined ? [] : [remove(key(ended))]
      }
    }
  }
}
