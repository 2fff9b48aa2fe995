import type { ClientId } from "../../domain/ids.ts"
import type { LaunchPlan } from "../../domain/launch/launch.ts"
import type { InstanceSpec } from "../instanceRuntime.ts"
import { type AgentSettings, instanceSpec, upstreamUrl } from "../instances/runtimeSpec.ts"
import type { RouteSpec, Upstream } from "../trafficRouter.ts"

/** The router's key for a client's endpoint. */
export const endpointKey = (tenant: string, clientId: string) => `${tenant}/${clientId}`

/** The URL a client's traffic goes to: the router's listener for it on loopback. */
export const endpointUrl = (port: number) => `http://127.0.0.1:${port}`

/**
 * The runtime specs of a launch's two instances, as they were (shadow) or will be (production) started; the
 * route reads only their ports, so both carry the plan's resources.
 */
export const launchSpecs = (tenant: string, clientId: ClientId, plan: LaunchPlan, agent: AgentSettings) => {
  const specification = { clientId, tier: plan.tier, template: plan.template, network: plan.network, resources: plan.resources }
  return {
    shadow: instanceSpec("shadow", tenant, plan.shadowInstanceId, specification, agent),
    production: instanceSpec("production", tenant, plan.productionInstanceId, specification, agent, plan.preload)
  }
}

/** The client's route on `port` with production taking `weight` percent of its traffic and the shadow the rest. */
export const endpointRoute = (
  tenant: string,
  clientId: string,
  port: number,
  instances: { readonly shadow?: InstanceSpec | undefined; readonly production?: InstanceSpec | undefined },
  weight: number
): RouteSpec => {
  const shares: Array<Upstream> = []
  if (instances.shadow !== undefined && weight < 100) shares.push({ id: instances.shadow.instanceId, url: upstreamUrl(instances.shadow), weight: 100 - weight })
  if (instances.production !== undefined && weight > 0) shares.push({ id: instances.production.instanceId, url: upstreamUrl(instances.production), weight })
  const [only, ...others] = shares
  const upstreams = only !== undefined && others.length === 0 ? [{ ...only, weight: 100 }] : shares
  return { key: endpointKey(tenant, clientId), port, upstreams }
}
