import { Effect } from "effect"
import { fleet, fleetKeys, type FleetRow } from "../../projections/fleet.ts"
import { afterCatchingUp } from "./caughtUp.ts"
import { fromReadModel } from "./readModelAnswer.ts"
import { readRows } from "./readModelRows.ts"

/** `umbra.query.<tenant>.Fleet`: every instance of the tenant that is not gone, by id. */
export const fleetQuery = (tenant: string) =>
  readRows<FleetRow>(fleet.name, fleetKeys.instances(tenant)).pipe(
    Effect.map((instances) => ({ instances })),
    fromReadModel(fleet.name),
    afterCatchingUp(fleet),
    Effect.withSpan("Query.Fleet")
  )
