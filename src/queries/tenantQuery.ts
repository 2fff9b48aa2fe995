import { Effect } from "effect"
import { fleetRoles, type FleetRow, fleetStates } from "../../projections/fleet.ts"
import { type LaunchOutcome, launchOutcomes } from "../../projections/launchTimeline.ts"
import { tenant as tenantModel, type TenantEventsRow, tenantKeys } from "../../projections/tenant.ts"
import { afterCatchingUp } from "./caughtUp.ts"
import { fromReadModel } from "./readModelAnswer.ts"
import { readRow, readRows } from "./readModelRows.ts"

/** How many of `values` are each of `names`, every name present (a metric reads 0 rather than nothing). */
const countBy = <Name extends string>(names: ReadonlyArray<Name>, values: ReadonlyArray<Name>) => {
  const counts = Object.fromEntries(names.map((name) => [name, 0])) as Record<Name, number>
  for (const value of values) counts[value] += 1
  return counts
}

/**
 * A tenant's counts: clients connected and disconnected, instances (not gone) by role and by state, launches
 * by outcome, and the tenant's events in the log. What the `Tenant` query answers and a metrics endpoint reads.
 */
export const tenantSummary = Effect.fn("Tenant.summary")(function* (tenant: string) {
  const events = (yield* readRow<TenantEventsRow>(tenantModel.name, tenantKeys.events(tenant)))?.events ?? 0
  const clients = yield* readRows<{ readonly connected: boolean }>(tenantModel.name, tenantKeys.clients(tenant))
  const instances = yield* readRows<FleetRow>(tenantModel.name, tenantKeys.instances(tenant))
  const launches = yield* readRows<{ readonly outcome: LaunchOutcome }>(tenantModel.name, tenantKeys.launches(tenant))
  const connected = clients.filter((client) => client.connected).length
  return {
    clients: { connected, disconnected: clients.length - connected },
    instances: {
      total: instances.length,
      byRole: countBy(fleetRoles, instances.map((instance) => instance.role)),
      byState: countBy(fleetStates, instances.map((instance) => instance.state))
    },
    launches: countBy(launchOutcomes, launches.map((launch) => launch.outcome)),
    events
  }
})

/** `umbra.query.<tenant>.Tenant`: the tenant's summary. */
export const tenantQuery = (tenant: string) => tenantSummary(tenant).pipe(fromReadModel(tenantModel.name), afterCatchingUp(tenantModel))
