import type { DomainEvent } from "../domain/catalog.ts"
import { productionInstanceId } from "../domain/launch/productionInstanceId.ts"

/**
 * The instance an event ends, whose rows go with it: a terminated instance, a retired production, and the
 * production a rolled-back launch leaves (the launch runner removes it, if the launch had planned one).
 */
export const endedInstance = (event: DomainEvent, tenant: string): string | undefined => {
  switch (event._tag) {
    case "InstanceTerminated":
      return event.instanceId
    case "ProductionRetired":
      return event.productionInstanceId
    case "LaunchRolledBack":
      return productionInstanceId(tenant, event.launchId)
    default:
      return undefined
  }
}
