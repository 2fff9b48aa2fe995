import { Effect, Schema } from "effect"
import { decodeEvent } from "../../domain/catalog.ts"
import { isActive, isProvisioning, launchAggregate, LaunchRequested, ProductionRetired } from "../../domain/launch/launch.ts"
import { nextLaunch, type QueuedLaunch } from "../../domain/launch/launchQueue.ts"
import { subjects } from "../../domain/subjects.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import { EventBus } from "../eventBus.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { live } from "../projections/liveIndex.ts"
import type { LaunchRunner } from "./launchRunner.ts"

const isLaunchRequested = Schema.is(LaunchRequested)
const isProductionRetired = Schema.is(ProductionRetired)

/**
 * The provisioning queue: launches wait here, highest priority first, until fewer than `limit` launches
 * provision at once; each is then driven to its end by the runner, which hands its slot back once its state
 * transfer is done.
 */
export const makeLaunchDispatcher = (runner: LaunchRunner, limit: number) =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const queue = new Map<string, QueuedLaunch>()
    const known = new Set<string>()
    /** Launches asked to resume while a run of theirs was under way: that run may have read their stream too early. */
    const again = new Set<string>()
    let provisioning = 0
    let seq = 0

    const keyOf = (tenant: string, launchId: string) => `${tenant}/${launchId}`

    const run = (launch: QueuedLaunch, slot: boolean): Effect.Effect<void> => {
      const key = keyOf(launch.tenant, launch.launchId)
      let held = slot
      const release = Effect.suspend(() => {
        if (!held) return Effect.void
        held = false
        provisioning--
        return pump
      })
      return runner.drive(launch.tenant, launch.launchId, release).pipe(
        Effect.ensuring(release),
        Effect.catchCause((cause) => Effect.logError("launch stopped before its end; it resumes when Umbra restarts", cause)),
        Effect.ensuring(Effect.sync(() => known.delete(key))),
        Effect.andThen(Effect.suspend(() => (again.delete(key) ? resume(launch.tenant, launch.launchId) : Effect.void))),
        Effect.annotateLogs({ tenant: launch.tenant, launchId: launch.launchId }),
        Effect.forkIn(scope),
        Effect.asVoid
      )
    }

    const pump: Effect.Effect<void> = Effect.suspend(() => {
      const started: Array<QueuedLaunch> = []
      for (let next = nextLaunch(queue.values()); next !== undefined && provisioning < limit; next = nextLaunch(queue.values())) {
        queue.delete(keyOf(next.tenant, next.launchId))
        provisioning++
        started.push(next)
      }
      return Effect.forEach(started, (launch) => run(launch, true), { discard: true })
    })

    /** Queues a launch that still has to provision; one already known (queued or running) is left as it is. */
    const enqueue = (tenant: string, launchId: string, priority: number) =>
      Effect.suspend(() => {
        const key = keyOf(tenant, launchId)
        if (known.has(key)) return Effect.void
        known.add(key)
        queue.set(key, { tenant, launchId, priority, seq: seq++ })
        return Effect.logInfo("launch queued", { tenant, launchId, priority, waiting: queue.size, provisioning }).pipe(Effect.andThen(pump))
      })

    /**
     * Drives a launch past provisioning (or finished) without a slot: it only shifts, releases or cleans up.
     * One already known is driven once more after its current run.
     */
    const resume = (tenant: string, launchId: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const key = keyOf(tenant, launchId)
        if (known.has(key)) return Effect.sync(() => void again.add(key))
        known.add(key)
        return run({ tenant, launchId, priority: 0, seq: seq++ }, false)
      })

    return {
      enqueue,
      resume,
      waiting: Effect.sync(() => [...queue.values()]),
      provisioning: Effect.sync(() => provisioning)
    }
  })

export type LaunchDispatcher = Effect.Success<ReturnType<typeof makeLaunchDispatcher>>

/**
 * After a restart, from the live index: every launch not yet ended is queued again if it still provisions,
 * or resumed; and each client's newest launch, if it ended, restores the client's route (production, or the
 * shadow after a rollback) and removes a leftover production (every production once the launch is retired).
 */
export const recoverLaunches = Effect.fn("Launch.recover")(function* (dispatcher: LaunchDispatcher) {
  const launches = yield* live.openLaunches
  let resumed = 0
  for (const { tenant, launchId } of launches) {
    const { state } = yield* loadAggregate(launchAggregate, tenant, launchId)
    if (state._tag === "Absent") continue
    if (isProvisioning(state)) yield* dispatcher.enqueue(tenant, launchId, state.priority)
    else if (isActive(state) || state._tag === "Completed") yield* dispatcher.resume(tenant, launchId)
    else continue
    resumed++
  }
  for (const { tenant, launchId } of yield* live.clientLaunches) {
    const { state } = yield* loadAggregate(launchAggregate, tenant, launchId)
    if (state._tag === "Released" || state._tag === "RolledBack" || state._tag === "Retired") yield* dispatcher.resume(tenant, launchId)
  }
  yield* Effect.logInfo("launches recovered", { launches: launches.length, resumed })
})

/**
 * Queues each new launch as its LaunchRequested arrives on UMBRA_EVENTS, and resumes a launch whose
 * production is retired (to remove it), until the scope closes.
 */
export const runLaunchConsumer = (dispatcher: LaunchDispatcher) =>
  Effect.gen(function* () {
    const bus = yield* EventBus
    const store = yield* EventStore
    yield* bus.consumeEvents({ durable: "orchestrator-launches", filterSubject: subjects.eventsOf("*", "launch") }, (delivered) =>
      Effect.gen(function* () {
        if (delivered.event.type !== "LaunchRequested" && delivered.event.type !== "ProductionRetired") return
        const event = yield* decodeEvent(delivered.event)
        if (isProductionRetired(event)) return yield* dispatcher.resume(delivered.event.tenant, event.launchId)
        if (!isLaunchRequested(event)) return
        // Redelivered after the launch moved on: the stream, not the event, says whether it still waits.
        const { state } = yield* loadAggregate(launchAggregate, delivered.event.tenant, event.launchId)
        if (state._tag === "Queued") yield* dispatcher.enqueue(delivered.event.tenant, event.launchId, event.priority)
      }).pipe(
        Effect.provideService(EventStore, store),
        Effect.annotateLogs({ tenant: delivered.event.tenant, correlationId: delivered.event.correlationId })
      )
    )
  })
