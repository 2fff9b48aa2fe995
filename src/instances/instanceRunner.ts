import { Effect, Fiber } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import type { StoredEvent } from "../../domain/envelope.ts"
import type { InstanceId } from "../../domain/ids.ts"
import { instanceAggregate, shouldRun } from "../../domain/instance/instance.ts"
import { subjects } from "../../domain/subjects.ts"
import { CommandHandler } from "../commands/commandHandler.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import { EventBus } from "../eventBus.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { InstanceRuntime, instanceKey } from "../instanceRuntime.ts"
import { epochOf } from "./instanceEpoch.ts"
import type { AgentSettings } from "./runtimeSpec.ts"
import { assignClaimed, scrubRecycled } from "./agentControl.ts"
import { ensureStarted, recreate, type RecreationPolicy } from "./shadowPlacement.ts"
import type { Watchdog } from "./watchdog.ts"

export interface InstanceRunnerOptions {
  readonly agent: AgentSettings
  readonly recreation: RecreationPolicy
}

/** The instance's state if, now, it should be running (a redelivered old event finds it moved on). */
const runningState = (tenant: string, instanceId: InstanceId) =>
  loadAggregate(instanceAggregate, tenant, instanceId).pipe(Effect.map(({ state }) => (shouldRun(state) ? state : undefined)))

/** Watches the instance if, now, it should be running; `assigned`: what its agent said of the workload a claim gave it. */
const watchIfRunning = (watchdog: Watchdog, tenant: string, instanceId: InstanceId, assigned?: { readonly readyFromSeq: number | undefined; readonly ready: boolean }) =>
  Effect.gen(function* () {
    const state = yield* runningState(tenant, instanceId)
    if (state === undefined) return undefined
    yield* watchdog.watch({
      tenant,
      instanceId,
      epoch: epochOf(tenant, instanceId, state),
      ready: state._tag === "Ready",
      ...(assigned?.readyFromSeq === undefined ? {} : { readyFromSeq: assigned.readyFromSeq }),
      ...(assigned?.ready === true ? { readyNow: true } : {})
    })
    return state
  })

/**
 * The effectful half of the instance's lifecycle: each recorded intent (an instance event) is carried out
 * on the runtime, and its result recorded as the next event. Production's request needs nothing here: its
 * launch made its container and starts it once the shadow's state is in. Every action first checks the stream, so a
 * redelivered event after a crash repeats only what did not happen.
 */
export const makeInstanceStep = (options: InstanceRunnerOptions, watchdog: Watchdog) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    const services = yield* Effect.context<InstanceRuntime | EventStore | CommandHandler | EventBus>()
    const step = Effect.fn("InstanceRunner.step")(function* (input: StoredEvent) {
      if (!input.stream.startsWith("instance-")) return
      const event = yield* decodeEvent(input)
      const tenant = input.tenant
      switch (event._tag) {
        case "ShadowRequested":
          return yield* ensureStarted(tenant, event.instanceId, options.agent, input.correlationId)
        case "InstanceStarted": {
          const state = yield* watchIfRunning(watchdog, tenant, event.instanceId)
          // Production was started by its launch, at its plan's size: a refinement recorded meanwhile applies now.
          if (state?.spec.role === "production") yield* runtime.resize(instanceKey(tenant, event.instanceId), state.spec.resources)
          return
        }
        case "InstanceRecreated":
        case "InstanceReady":
          return yield* watchIfRunning(watchdog, tenant, event.instanceId).pipe(Effect.asVoid)
        case "InstanceClaimed": {
          const state = yield* runningState(tenant, event.instanceId)
          if (state === undefined) return
          // Resized while it is assigned and marked ready, not before: limits apply live, and the new client waits on
          // neither. The step ends once the resize has, so that a redelivered claim repeats what did not happen.
          const resizing = yield* Effect.forkChild(runtime.resize(instanceKey(tenant, event.instanceId), state.spec.resources))
          // Watched once assigned: until then, its heartbeats may speak for a run of its workload that served the last client.
          const assigned = yield* assignClaimed(tenant, event.instanceId, event.clientId)
          yield* watchIfRunning(watchdog, tenant, event.instanceId, assigned)
          return yield* Fiber.join(resizing)
        }
        case "InstanceResized": {
          // The current size, not the event's: an older resize redelivered late must not undo a newer one.
          const { state } = yield* loadAggregate(instanceAggregate, tenant, event.instanceId)
          if (shouldRun(state)) yield* runtime.resize(instanceKey(tenant, event.instanceId), state.spec.resources)
          return
        }
        case "HeartbeatLost":
        case "InstanceStartFailed":
          yield* watchdog.unwatch(tenant, event.instanceId)
          return yield* recreate(tenant, event.instanceId, options.agent, options.recreation, input.correlationId)
        case "InstanceRecycled":
          // A pooled shadow idles unwatched until claimed; the reconciler drops it if its container is gone.
          yield* watchdog.unwatch(tenant, event.instanceId)
          return yield* scrubRecycled(tenant, event.instanceId, input.correlationId)
        case "InstanceTerminated":
          yield* watchdog.unwatch(tenant, event.instanceId)
          return yield* runtime.remove(instanceKey(tenant, event.instanceId))
        default:
          return
      }
    })
    return (input: StoredEvent) => step(input).pipe(Effect.provideContext(services))
  })

/** Runs the instance runner on its durable consumer of UMBRA_EVENTS until the scope closes. */
export const runInstanceRunner = (options: InstanceRunnerOptions, watchdog: Watchdog) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const step = yield* makeInstanceStep(options, watchdog)
    yield* bus.consumeEvents({ durable: "orchestrator-instances", filterSubject: subjects.eventsOf("*", "instance") }, (delivered) =>
      step(delivered.event).pipe(
        Effect.annotateLogs({ tenant: delivered.event.tenant, correlationId: delivered.event.correlationId, eventId: delivered.event.id })
      )
    )
  })
