import { Effect } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import { instanceAggregate, type InstanceState, shouldRun } from "../../domain/instance/instance.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import { live } from "../projections/liveIndex.ts"
import { type InstanceInfo, InstanceRuntime } from "../instanceRuntime.ts"
import { causedBy, issueOrLogRefusal } from "../commands/issueCommand.ts"
import { epochOf } from "./instanceEpoch.ts"
import type { AgentSettings } from "./runtimeSpec.ts"
import { ensureStarted } from "./shadowPlacement.ts"
import type { Watchdog } from "./watchdog.ts"

export interface ReconciliationReport {
  /** Running containers that match what the store says should run: now watched again. */
  readonly adopted: ReadonlyArray<string>
  /** Containers the store does not account for (or says are gone): removed. */
  readonly removed: ReadonlyArray<string>
  /** Instances that should run but have no running container: marked lost, so the runner recreates them. */
  readonly lost: ReadonlyArray<string>
  /** Requested instances whose start was cut short: started (or their container adopted) now. */
  readonly started: ReadonlyArray<string>
  /** Pooled shadows whose container is gone: terminated. */
  readonly dropped: ReadonlyArray<string>
}

interface Known {
  readonly tenant: string
  readonly instanceId: InstanceId
  readonly state: InstanceState
  /** The stream's revision: it names the cause of what the reconciler sends, so a rerun sends nothing twice. */
  readonly revision: number
}

const keyOf = (tenant: string, instanceId: string) => `${tenant}/${instanceId}`

/**
 * Every instance not yet terminated, from the live index (caught up by the caller), and the tenants the
 * store has events of: start-up costs what is live, not the whole history.
 */
const knownInstances = Effect.gen(function* () {
  const tenants = yield* live.tenants
  const known = new Map<string, Known>()
  for (const { tenant, instanceId } of yield* live.instances) {
    const { state, revision } = yield* loadAggregate(instanceAggregate, tenant, instanceId)
    known.set(keyOf(tenant, instanceId), { tenant, instanceId: instanceId as InstanceId, state, revision })
  }
  return { known, tenants }
})

/** A failed action on one instance is logged and left to the next reconciliation; the others go on. */
const tolerated = (instanceId: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.asVoid,
    Effect.catchCause((cause) => Effect.logWarning("reconciliation of an instance failed", cause).pipe(Effect.annotateLogs({ instanceId })))
  )

/**
 * Compares what the store says should run with what the runtime runs (by label), on start: a container
 * the store does not want is removed, one it wants is adopted, a missing one is marked lost (the instance
 * runner recreates it from its request's spec; production on its state). A crash of Umbra thus neither leaks
 * nor loses an instance.
 */
export const reconcile = Effect.fn("Reconciler.reconcile")(function* (watchdog: Watchdog, agent: AgentSettings) {
  const runtime = yield* InstanceRuntime
  const { known, tenants } = yield* knownInstances
  const containers = new Map<string, InstanceInfo>()
  // Only tenants this store has events of: another Umbra on the same engine keeps its own containers.
  for (const info of yield* runtime.list()) {
    if (tenants.has(info.tenant)) containers.set(keyOf(info.tenant, info.instanceId), info)
  }

  const report = { adopted: [] as Array<string>, removed: [] as Array<string>, lost: [] as Array<string>, started: [] as Array<string>, dropped: [] as Array<string> }

  for (const [key, info] of containers) {
    const state = known.get(key)?.state
    const wanted = state !== undefined && (shouldRun(state) || state._tag === "Requested" || state._tag === "Lost" || state._tag === "Recycled")
    // A production container with no instance yet is its launch's (provisioned, or from before production was
    // an instance): launch recovery keeps or removes it.
    const launchOwned = state === undefined && info.role === "production"
    if (!wanted && !launchOwned) {
      yield* runtime.remove(info).pipe(tolerated(info.instanceId))
      report.removed.push(info.instanceId)
    }
  }

  for (const [key, { tenant, instanceId, state, revision }] of known) {
    const running = containers.get(key)?.running === true
    if (state._tag === "Requested") {
      // Production is started by its launch, once the shadow's state is in: launch recovery resumes that.
      if (state.spec.role === "production") continue
      yield* ensureStarted(tenant, instanceId, agent).pipe(tolerated(instanceId))
      report.started.push(instanceId)
    } else if (shouldRun(state) && running) {
      yield* watchdog.watch({ tenant, instanceId, epoch: epochOf(tenant, instanceId, state), ready: state._tag === "Ready" })
      report.adopted.push(instanceId)
    } else if (shouldRun(state)) {
      yield* issueOrLogRefusal(tenant, causedBy(`reconcile-lost/${tenant}/${instanceId}/${revision}`), {
        _tag: "MarkHeartbeatLost",
        instanceId,
        reason: "no running container at reconciliation"
      }).pipe(
        tolerated(instanceId)
      )
      report.lost.push(instanceId)
    } else if (state._tag === "Recycled" && !running) {
      yield* issueOrLogRefusal(tenant, causedBy(`reconcile-drop/${tenant}/${instanceId}/${revision}`), {
        _tag: "TerminateInstance",
        instanceId,
        reason: "pooled shadow's container is gone"
      }).pipe(
        tolerated(instanceId)
      )
      report.dropped.push(instanceId)
    }
  }
  yield* Effect.logInfo("reconciled instances with the runtime", {
    adopted: report.adopted.length,
    removed: report.removed.length,
    lost: report.lost.length,
    started: report.started.length,
    dropped: report.dropped.length
  })
  return report as ReconciliationReport
})
