import { DomainEvent } from "../domain/catalog.ts"
import { fleet, fleetKeys } from "./fleet.ts"
import type { LaunchOutcome } from "./launchTimeline.ts"
import { type Projection, put, upsert } from "./projection.ts"

export interface TenantEventsRow {
  readonly events: number
}

export const tenantKeys = {
  /** The count of the tenant's events. */
  events: (tenant: string) => tenant,
  clients: (tenant: string) => `${tenant}/client/`,
  client: (tenant: string, clientId: string) => `${tenant}/client/${clientId}`,
  /** The same rows as the fleet's, under the same keys: the counts by role and state are taken from them. */
  instances: fleetKeys.instances,
  launches: (tenant: string) => `${tenant}/launch/`,
  launch: (tenant: string, launchId: string) => `${tenant}/launch/${launchId}`
}

/** The events that decide a launch's outcome (as `outcomeOf` reads it from the stage they lead to). */
const outcomeAfter = (event: DomainEvent): LaunchOutcome | undefined => {
  switch (event._tag) {
    case "LaunchRequested":
      return "underWay"
    case "LaunchCompleted":
      return "completed"
    case "LaunchRolledBack":
      return "rolledBack"
    default:
      return undefined
  }
}

/**
 * What a tenant has, to be counted: its clients (connected or not), its instances (the fleet's rows, less
 * their heartbeats), the outcome of each launch, and how many events the tenant has in the log.
 */
export const tenant: Projection = {
  name: "tenant",
  version: 1,
  handles: new Set(DomainEvent.members.map((member) => member.fields._tag.schema.literal)),
  apply: (event, envelope) => {
    const changes = [upsert<TenantEventsRow>(tenantKeys.events(envelope.tenant), (row) => ({ events: (row?.events ?? 0) + 1 }))]
    // A heartbeat changes no count: the fleet's row would only take its time.
    if (fleet.handles.has(event._tag) && event._tag !== "HeartbeatRecorded") changes.push(...fleet.apply(event, envelope))
    if (event._tag === "ClientConnected" || event._tag === "ClientDisconnected") {
      changes.push(put(tenantKeys.client(envelope.tenant, event.clientId), { connected: event._tag === "ClientConnected" }))
    }
    const outcome = outcomeAfter(event)
    if (outcome !== undefined && "launchId" in event) changes.push(put(tenantKeys.launch(envelope.tenant, event.launchId), { outcome }))
    return changes
  }
}
