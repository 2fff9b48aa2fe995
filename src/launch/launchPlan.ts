import { Effect, Schema } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import { fold } from "../../domain/decider.ts"
import { shouldRun } from "../../domain/instance/instance.ts"
import type { LaunchPlan } from "../../domain/launch/launch.ts"
import { productionInstanceId } from "../../domain/launch/productionInstanceId.ts"
import { ProfileEvent, profileDecider } from "../../domain/profile/profile.ts"
import { evolveShadowSaga } from "../../domain/sagas/shadowSaga.ts"
import { streamName } from "../../domain/streams.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { loadInstance } from "../orchestrator/instanceState.ts"
import { loadSteps } from "../sagas/sagaSteps.ts"

const isProfileEvent = Schema.is(ProfileEvent)

/** The client's shadow now, as the shadow saga recorded it (a claimed pooled shadow included). */
const currentShadow = (tenant: string, clientId: string) =>
  loadSteps(streamName("saga", tenant, `shadow-${clientId}`)).pipe(
    Effect.map(({ steps }) => steps.reduce(evolveShadowSaga, { current: undefined }).current)
  )

const loadProfile = (tenant: string, clientId: string) =>
  Effect.gen(function* () {
    const stored = yield* (yield* EventStore).readStream(streamName("profile", tenant, clientId))
    const events = yield* Effect.forEach(stored, decodeEvent)
    return fold(profileDecider, events.filter(isProfileEvent))
  })

/**
 * What production will be, or why there can be none: the shadow's image, settings and network (what runs
 * now, even if the profile's template changed since) at the profile's full expected CPU and memory.
 */
export const planProduction = Effect.fn("Launch.plan")(function* (tenant: string, launchId: string, clientId: string) {
  const shadow = yield* currentShadow(tenant, clientId)
  if (shadow === undefined) return { reason: `client ${clientId} has no shadow to launch from` }
  const { state } = yield* loadInstance(tenant, shadow.instanceId)
  if (!shouldRun(state)) return { reason: `shadow ${shadow.instanceId} is ${state._tag}, not running` }
  const profile = yield* loadProfile(tenant, clientId)
  if (profile._tag !== "Active") return { reason: `client ${clientId} has no profile` }
  const plan: LaunchPlan = {
    shadowInstanceId: shadow.instanceId,
    productionInstanceId: productionInstanceId(tenant, launchId),
    tier: state.spec.tier,
    template: state.spec.template,
    network: state.spec.network,
    resources: { cpuMillis: profile.expected.cpuMillis, memoryMiB: profile.expected.memoryMiB }
  }
  return { plan }
})
