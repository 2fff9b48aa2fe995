import { Effect } from "effect"
import { instanceAggregate, shouldRun } from "../../domain/instance/instance.ts"
import type { LaunchPlan } from "../../domain/launch/launch.ts"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { preloadFiles, profileAggregate } from "../../domain/profile/profile.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import { loadCurrentShadow } from "../sagas/currentShadow.ts"

/**
 * What production will be, or why there can be none: the shadow's image, settings and network (what runs
 * now, even if the profile's template changed since) at the profile's full expected CPU and memory, with the
 * files its agent preloads (the profile's inferred dependencies) unless `preload` is off.
 */
export const planProduction = Effect.fn("Launch.plan")(function* (tenant: string, launchId: string, clientId: string, preload: boolean) {
  const shadow = yield* loadCurrentShadow(tenant, clientId)
  if (shadow === undefined) return { reason: `client ${clientId} has no shadow to launch from` }
  const { state } = yield* loadAggregate(instanceAggregate, tenant, shadow.instanceId)
  if (!shouldRun(state)) return { reason: `shadow ${shadow.instanceId} is ${state._tag}, not running` }
  const profile = (yield* loadAggregate(profileAggregate, tenant, clientId)).state
  if (profile._tag !== "Active") return { reason: `client ${clientId} has no profile` }
  const plan: LaunchPlan = {
    shadowInstanceId: shadow.instanceId,
    productionInstanceId: productionInstanceId(tenant, launchId),
    tier: state.spec.tier,
    template: state.spec.template,
    network: state.spec.network,
    resources: { cpuMillis: profile.expected.cpuMillis, memoryMiB: profile.expected.memoryMiB }
  }
  const files = preload ? preloadFiles(profile) : []
  return { plan: files.length === 0 ? plan : { ...plan, preload: files } }
})
