import { Effect } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import type { InstanceId } from "../../domain/ids.ts"
import { instanceAggregate, shouldRun } from "../../domain/instance/instance.ts"
import { endpointPortOf } from "../../domain/launch/endpointPort.ts"
import { launchAggregate } from "../../domain/launch/launch.ts"
import { subjects } from "../../domain/subjects.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import { EventBus } from "../eventBus.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { instanceSpec, type AgentSettings } from "../instances/runtimeSpec.ts"
import { loadCurrentProduction } from "../sagas/currentProduction.ts"
import { loadCurrentShadow } from "../sagas/currentShadow.ts"
import { TrafficRouter } from "../trafficRouter.ts"
import { endpointRoute } from "./endpoint.ts"

/** The client's shadow, if it still has one running (a launch that released it handed it to the pool or ended it). */
const runningShadow = (tenant: string, clientId: string, agent: AgentSettings) =>
  Effect.gen(function* () {
    const shadow = yield* loadCurrentShadow(tenant, clientId)
    if (shadow === undefined) return undefined
    const { state } = yield* loadAggregate(instanceAggregate, tenant, shadow.instanceId)
    return shouldRun(state) ? instanceSpec("shadow", tenant, shadow.instanceId, state.spec, agent) : undefined
  })

/** The port of the client's endpoint as the launch that made `productionId` recorded it, while that is the client's production. */
const endpointPortFor = (tenant: string, clientId: string, productionId: InstanceId) =>
  Effect.gen(function* () {
    const current = yield* loadCurrentProduction(tenant, clientId)
    if (current?.instanceId !== productionId) return undefined
    const { state } = yield* loadAggregate(launchAggregate, tenant, current.launchId)
    return endpointPortOf(tenant, clientId, "plan" in state ? state.plan?.endpointPort : undefined)
  })

/**
 * The client's endpoint follows its production instance once the launch is done: a lost production's
 * traffic is held on the client's shadow while it has one, otherwise the endpoint answers 503 (it keeps its
 * port); once production is ready again it has all of it. Each step reads the instance's state now, so a
 * redelivered event never points the endpoint at a production that has moved on (or been terminated).
 */
export const makeProductionEndpointStep = (agent: AgentSettings) =>
  Effect.gen(function* () {
    const router = yield* TrafficRouter
    const services = yield* Effect.context<EventStore>()
    const step = Effect.fn("ProductionEndpoint.step")(function* (input: StoredEvent) {
      if (input.type !== "HeartbeatLost" && input.type !== "InstanceReady") return
      const event = yield* decodeEvent(input)
      if (event._tag !== "HeartbeatLost" && event._tag !== "InstanceReady") return
      const tenant = input.tenant
      const { state } = yield* loadAggregate(instanceAggregate, tenant, event.instanceId)
      if (!("spec" in state) || state.spec.role !== "production") return
      const { clientId } = state.spec
      const port = yield* endpointPortFor(tenant, clientId, event.instanceId)
      // The client's production is another by now: this one's events no longer move its endpoint.
      if (port === undefined) return
      if (state._tag === "Ready") {
        const production = instanceSpec("production", tenant, event.instanceId, state.spec, agent)
        yield* router.setRoute(endpointRoute(tenant, clientId, port, { production }, 100))
        return yield* Effect.logInfo("the client's endpoint is back on its production", { instanceId: event.instanceId })
      }
      if (state._tag !== "Lost") return
      const shadow = yield* runningShadow(tenant, clientId, agent)
      yield* router.setRoute(endpointRoute(tenant, clientId, port, { shadow }, 0))
      yield* Effect.logWarning(shadow === undefined ? "production lost: the client's endpoint answers 503 until it is back" : "production lost: the client's traffic held on its shadow", {
        instanceId: event.instanceId,
        ...(shadow === undefined ? {} : { shadowInstanceId: shadow.instanceId })
      })
    }, Effect.catchTag("RouterFailed", (error) => Effect.logError("the router refused the client's endpoint", { message: error.message })))
    return (input: StoredEvent) => step(input).pipe(Effect.provideContext(services))
  })

/** Runs the production endpoint on its durable consumer of the instances' events until the scope closes. */
export const runProductionEndpoint = (agent: AgentSettings) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const step = yield* makeProductionEndpointStep(agent)
    yield* bus.consumeEvents({ durable: "orchestrator-production-endpoints", filterSubject: subjects.eventsOf("*", "instance") }, (delivered) =>
      step(delivered.event).pipe(
        Effect.annotateLogs({ tenant: delivered.event.tenant, correlationId: delivered.event.correlationId, eventId: delivered.event.id })
      )
    )
  })
