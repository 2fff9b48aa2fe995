import { type Projection, put, remove } from "./projection.ts"

/** An instance that is not terminated: the reconciler looks at these only. */
export interface LiveInstanceRow {
  readonly tenant: string
  readonly instanceId: string
}

/** A launch that has not ended (released or rolled back): recovery queues or resumes these. */
export interface OpenLaunchRow {
  readonly tenant: string
  readonly launchId: string
}

/** The newest launch of a client, finished or not: recovery restores the client's route from it. */
export interface ClientLaunchRow {
  readonly tenant: string
  readonly clientId: string
  readonly launchId: string
}

export const liveIndexKeys = {
  instance: (tenant: string, instanceId: string) => `instance/${tenant}/${instanceId}`,
  openLaunch: (tenant: string, launchId: string) => `launch/${tenant}/${launchId}`,
  clientLaunch: (tenant: string, clientId: string) => `client-launch/${tenant}/${clientId}`,
  tenant: (tenant: string) => `tenant/${tenant}`
}

/**
 * What is live, so that start-up costs what runs rather than what ever ran: instances not yet terminated,
 * launches not yet ended, each client's newest launch, and the tenants the store has events of.
 */
export const liveIndex: Projection = {
  name: "live-index",
  version: 1,
  handles: new Set(["ClientConnected", "ShadowRequested", "ProductionRequested", "InstanceTerminated", "LaunchRequested", "ShadowReleased", "LaunchRolledBack"]),
  apply: (event, envelope) => {
    const tenant = envelope.tenant
    switch (event._tag) {
      case "ClientConnected":
        return [put(liveIndexKeys.tenant(tenant), { tenant })]
      case "ShadowRequested":
      case "ProductionRequested":
        return [put(liveIndexKeys.instance(tenant, event.instanceId), { tenant, instanceId: event.instanceId } satisfies LiveInstanceRow)]
      case "InstanceTerminated":
        return [remove(liveIndexKeys.instance(tenant, event.instanceId))]
      case "LaunchRequested":
        return [
          put(liveIndexKeys.openLaunch(tenant, event.launchId), { tenant, launchId: event.launchId } satisfies OpenLaunchRow),
          put(liveIndexKeys.clientLaunch(tenant, event.clientId), { tenant, clientId: event.clientId, launchId: event.launchId } satisfies ClientLaunchRow)
        ]
      case "ShadowReleased":
      case "LaunchRolledBack":
        return [remove(liveIndexKeys.openLaunch(tenant, event.launchId))]
      default:
        return []
    }
  }
}
