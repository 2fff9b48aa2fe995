import { Clock, Duration, Effect, Option, Schedule, Schema } from "effect"
import type { ClientId, LaunchId } from "../../domain/ids.ts"
import type { LaunchCommand, LaunchPlan, LaunchState } from "../../domain/launch/launch.ts"
import { gateBreach, remainingSteps, type TrafficGates } from "../../domain/launch/trafficGate.ts"
import type { PoolPolicy } from "../../domain/instance/poolPolicy.ts"
import { shouldRecycle } from "../../domain/instance/poolPolicy.ts"
import { poolKeyOf } from "../../domain/instance/poolKey.ts"
import { untilItWorks } from "../backoff.ts"
import { CommandHandler } from "../commands/commandHandler.ts"
import { EventBus } from "../eventBus.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { InstanceRuntime } from "../instanceRuntime.ts"
import { causedBy, issueCommand, issueOrLogRefusal } from "../commands/issueCommand.ts"
import { prepareTransfer } from "../instances/agentControl.ts"
import { poolView } from "../instances/pool.ts"
import type { AgentSettings } from "../instances/runtimeSpec.ts"
import { StateTransfer } from "../stateTransfer.ts"
import { type RouteMetrics, TrafficRouter } from "../trafficRouter.ts"
import { windowOf } from "../trafficWindow.ts"
import { endpointKey, endpointRoute, launchSpecs } from "./endpoint.ts"
import { type LastBeat, watchHeartbeats } from "./heartbeatWatch.ts"
import { loadLaunch } from "./launchState.ts"
import { planProduction } from "./launchPlan.ts"

export interface LaunchPolicy {
  readonly agent: AgentSettings
  /** Production's share at each step, in percent; 100 is always the last. */
  readonly steps: ReadonlyArray<number>
  /** How long each step holds, its gates kept, before the next. */
  readonly holdMs: number
  readonly checkEveryMs: number
  readonly gates: TrafficGates
  /** How long production may take from its start to its agent reporting ready. */
  readonly readyTimeoutMs: number
  /** Production silent this long during the shift counts as a lost heartbeat. */
  readonly heartbeatLostMs: number
  /** Launches provisioning (up to the end of their state transfer) at once; the others wait in the queue. */
  readonly maxConcurrentProvisioning: number
  readonly transferMaxBytes: number
  /** Whether a released shadow may go to the pool (the same policy the shadow saga recycles by). */
  readonly pool: PoolPolicy
  /** How long the shadow's requests in flight may take to finish once production has all traffic. */
  readonly drainMs: number
}

export const defaultLaunchPolicy = (agent: AgentSettings, pool: PoolPolicy): LaunchPolicy => ({
  agent,
  steps: [5, 25, 50, 100],
  holdMs: 10_000,
  checkEveryMs: 250,
  gates: { maxErrorRate: 0.01, maxP99Ms: 1_000, minRequests: 20 },
  readyTimeoutMs: 60_000,
  heartbeatLostMs: 5_000,
  maxConcurrentProvisioning: 2,
  transferMaxBytes: 1024 ** 3,
  pool,
  drainMs: 10_000
})

/** A launch command without its launch id, which the runner adds. */
type LaunchStep = LaunchCommand extends infer C ? (C extends LaunchCommand ? Omit<C, "launchId"> : never) : never

/** A step of the launch that cannot go on: the launch rolls back with this reason. */
class LaunchAborted extends Schema.TaggedError<LaunchAborted>()("LaunchAborted", { reason: Schema.String }) {}

const abort = (reason: string) => Effect.fail(new LaunchAborted({ reason }))

/** Identity files the workload declares (relative to its state path), left out of the copy. */
const identityFiles = (plan: LaunchPlan) =>
  (plan.template.settings["UMBRA_IDENTITY_FILES"] ?? "").split(",").map((file) => file.trim()).filter((file) => file !== "")

type Services = CommandHandler | EventStore | EventBus | InstanceRuntime | StateTransfer | TrafficRouter

/**
 * Drives launches from their streams: every step reads the launch's state, does the one thing that state
 * calls for, and records it. A launch resumed after a crash therefore continues from its last recorded step;
 * the production container is named by the launch, so a repeated provisioning finds it instead of making
 * a second. `releaseSlot` is called once the launch no longer provisions (its transfer is done or it ended).
 */
export const makeLaunchRunner = (policy: LaunchPolicy) =>
  Effect.gen(function* () {
    const services = yield* Effect.context<Services>()
    const runtime = yield* InstanceRuntime
    const router = yield* TrafficRouter
    const transfer = yield* StateTransfer

    /** Records a step of the launch; its id names the launch, the step and (for a shift) the weight. */
    const record = (tenant: string, launchId: string, step: LaunchStep) =>
      issueCommand(
        tenant,
        causedBy(`launch/${tenant}/${launchId}/${step._tag}/${"weight" in step ? step.weight : ""}`, launchId),
        { ...step, launchId: launchId as LaunchId } as LaunchCommand
      )

    /** Points the client's endpoint at production for `weight` percent; a router that refuses aborts the launch. */
    const routeTo = (tenant: string, clientId: ClientId, plan: LaunchPlan, weight: number) =>
      router.setRoute(endpointRoute(tenant, clientId, launchSpecs(tenant, clientId, plan, policy.agent), weight)).pipe(
        Effect.catchTag("RouterFailed", (error) => abort(`the traffic router refused the route: ${error.message}`))
      )

    /** All traffic back to the shadow (a router that refuses is logged: the rollback itself must not stop). */
    const routeBack = (tenant: string, state: LaunchState) =>
      state.plan === undefined || state.clientId === undefined
        ? Effect.void
        : routeTo(tenant, state.clientId, state.plan, 0).pipe(
          Effect.catchTag("LaunchAborted", (aborted) => Effect.logError("cannot route the client back to its shadow", { reason: aborted.reason }))
        )

    /** Production finishes what it was serving, then goes: the client keeps its shadow. */
    const removeProduction = (tenant: string, state: LaunchState) =>
      Effect.gen(function* () {
        if (state.plan === undefined || state.clientId === undefined) return
        yield* router.drain(endpointKey(tenant, state.clientId), state.plan.productionInstanceId, policy.drainMs)
        yield* runtime.remove(state.plan.productionInstanceId)
      })

    /** Traffic back to the shadow first, so that the client is served throughout; then the record; then cleanup. */
    const rollBack = (tenant: string, launchId: string, state: LaunchState, reason: string) =>
      Effect.gen(function* () {
        yield* Effect.logWarning("launch rolling back", { reason, stage: state.stage })
        yield* routeBack(tenant, state)
        yield* record(tenant, launchId, { _tag: "RollBackLaunch", reason: reason.slice(0, 512) })
        yield* removeProduction(tenant, state)
      })

    const provision = (tenant: string, launchId: string, state: LaunchState, plan: LaunchPlan) =>
      Effect.gen(function* () {
        const { production } = launchSpecs(tenant, state.clientId!, plan, policy.agent)
        const info = (yield* runtime.inspect(plan.productionInstanceId)) ?? (yield* runtime.create(production, { start: false }))
        yield* record(tenant, launchId, { _tag: "RecordProductionProvisioned", runtimeId: info.runtimeId, cpuMillis: info.cpuMillis, memoryMiB: info.memoryMiB })
        yield* Effect.logInfo("production provisioned", { instanceId: plan.productionInstanceId, cpuMillis: info.cpuMillis, memoryMiB: info.memoryMiB })
      }).pipe(Effect.catchTag("RuntimeFailed", (error) => abort(`provisioning failed: ${error.message}`)))

    const copyState = (tenant: string, launchId: string, plan: LaunchPlan) =>
      Effect.gen(function* () {
        const report = yield* transfer.transfer({
          fromInstanceId: plan.shadowInstanceId,
          toInstanceId: plan.productionInstanceId,
          paths: plan.template.statePaths,
          identityFiles: identityFiles(plan),
          maxBytes: policy.transferMaxBytes
        })
        yield* record(tenant, launchId, {
          _tag: "RecordStateTransfer",
          bytes: report.bytes,
          files: report.files,
          checksum: report.checksum,
          ms: Math.round(report.ms),
          reset: report.reset
        })
      }).pipe(Effect.catchTag("TransferFailed", (error) => abort(`state transfer failed (${error.reason}): ${error.message}`)))

    /** Starts production and waits for its agent to report ready while it keeps beating. */
    const startProduction = (plan: LaunchPlan, lastBeat: Effect.Effect<LastBeat>) =>
      Effect.gen(function* () {
        if ((yield* runtime.inspect(plan.productionInstanceId)) === undefined) return yield* abort("the production container is gone")
        yield* runtime.start(plan.productionInstanceId).pipe(Effect.catchTag("RuntimeFailed", (error) => abort(`production did not start: ${error.message}`)))
        const until = (yield* Clock.currentTimeMillis) + policy.readyTimeoutMs
        while (!(yield* lastBeat).ready) {
          if ((yield* Clock.currentTimeMillis) > until) return yield* abort(`production did not report ready within ${policy.readyTimeoutMs} ms`)
          yield* Effect.sleep(Duration.millis(policy.checkEveryMs))
        }
      })

    /** Holds one step for `holdMs`, checking production's heartbeat and the router's figures for it all along. */
    const hold = (key: string, plan: LaunchPlan, lastBeat: Effect.Effect<LastBeat>) =>
      Effect.gen(function* () {
        const upstreamOf = (metrics: RouteMetrics | undefined) =>
          metrics?.upstreams.find((upstream) => upstream.id === plan.productionInstanceId)
        const before = upstreamOf(yield* router.metrics(key))
        const until = (yield* Clock.currentTimeMillis) + policy.holdMs
        while ((yield* Clock.currentTimeMillis) < until) {
          yield* Effect.sleep(Duration.millis(policy.checkEveryMs))
          const now = yield* Clock.currentTimeMillis
          const beat = yield* lastBeat
          if (beat.atMs === undefined || now - beat.atMs > policy.heartbeatLostMs) {
            return yield* abort(`production heartbeat lost (silent for ${beat.atMs === undefined ? "ever" : now - beat.atMs} ms)`)
          }
          if (!beat.ready) return yield* abort("production's agent reports not ready")
          const after = upstreamOf(yield* router.metrics(key))
          if (after === undefined) continue
          const window = windowOf(before, after)
          const breach = gateBreach({ requests: window.requests, errors: window.errors, p99Ms: window.p99Ms }, policy.gates)
          if (breach !== undefined) return yield* abort(breach)
        }
      })

    const shift = (tenant: string, launchId: string, state: LaunchState, plan: LaunchPlan) =>
      Effect.scoped(
        Effect.gen(function* () {
          const clientId = state.clientId!
          const lastBeat = yield* watchHeartbeats(tenant, plan.productionInstanceId)
          yield* startProduction(plan, lastBeat)
          // A resumed launch holds its current step again before going on.
          const steps = state.stage === "shifting" ? [state.weight, ...remainingSteps(state.weight, policy.steps)] : remainingSteps(0, policy.steps)
          for (const weight of steps) {
            yield* record(tenant, launchId, { _tag: "ShiftTraffic", weight })
            yield* routeTo(tenant, clientId, plan, weight)
            yield* Effect.logInfo("traffic shifted", { weight })
            yield* hold(endpointKey(tenant, clientId), plan, lastBeat)
          }
          yield* record(tenant, launchId, { _tag: "CompleteLaunch" })
          yield* Effect.logInfo("launch completed", { productionInstanceId: plan.productionInstanceId })
        })
      )

    /** Production has all traffic: the shadow finishes what it was serving, then goes to the pool or away. */
    const releaseShadow = (tenant: string, launchId: string, state: LaunchState, plan: LaunchPlan) =>
      Effect.gen(function* () {
        const clientId = state.clientId!
        yield* routeTo(tenant, clientId, plan, 100)
        yield* router.drain(endpointKey(tenant, clientId), plan.shadowInstanceId, policy.drainMs)
        const pool = yield* poolView(tenant, poolKeyOf(plan.tier, plan.template))
        const recycle = shouldRecycle(policy.pool, pool.size)
        const key = `launch/${tenant}/${launchId}/release`
        const recycled = recycle
          ? Option.isSome(yield* issueOrLogRefusal(tenant, causedBy(key, launchId), { _tag: "RecycleInstance", instanceId: plan.shadowInstanceId }))
          : false
        if (!recycled) {
          yield* issueOrLogRefusal(tenant, causedBy(`${key}/terminate`, launchId), {
            _tag: "TerminateInstance",
            instanceId: plan.shadowInstanceId,
            reason: "production took over"
          })
        }
        yield* record(tenant, launchId, { _tag: "RecordShadowReleased", disposition: recycled ? "recycled" : "terminated" })
        yield* Effect.logInfo("shadow released", { shadowInstanceId: plan.shadowInstanceId, disposition: recycled ? "recycled" : "terminated" })
      })

    /** One step for the launch's current stage; true once the launch has nothing more to do. */
    const advance = (tenant: string, launchId: string, releaseSlot: Effect.Effect<void>) =>
      Effect.gen(function* () {
        const { state } = yield* loadLaunch(tenant, launchId)
        const plan = state.plan
        switch (state.stage) {
          case "absent":
            return true
          case "queued": {
            const planned = yield* planProduction(tenant, launchId, state.clientId!)
            if (planned.plan === undefined) return yield* abort(planned.reason)
            yield* routeTo(tenant, state.clientId!, planned.plan, 0)
            yield* record(tenant, launchId, { _tag: "StartProvisioning", ...planned.plan })
            return false
          }
          case "provisioning":
            yield* provision(tenant, launchId, state, plan!)
            return false
          case "provisioned":
            yield* prepareTransfer(tenant, plan!.shadowInstanceId)
            yield* record(tenant, launchId, { _tag: "StartStateTransfer" })
            return false
          case "transferring":
            yield* copyState(tenant, launchId, plan!)
            return false
          case "transferred":
          case "shifting":
            yield* releaseSlot
            yield* shift(tenant, launchId, state, plan!)
            return false
          case "completed":
            yield* releaseShadow(tenant, launchId, state, plan!)
            return true
          case "released":
            // Restored after a restart: the client's endpoint leads to production.
            yield* routeTo(tenant, state.clientId!, plan!, 100)
            return true
          case "rolledBack":
            yield* routeBack(tenant, state)
            yield* removeProduction(tenant, state)
            return true
        }
      }).pipe(
        Effect.catchTag("LaunchAborted", (aborted) =>
          loadLaunch(tenant, launchId).pipe(
            Effect.flatMap(({ state }) => rollBack(tenant, launchId, state, aborted.reason)),
            Effect.as(true)
          ))
      )

    /**
     * Runs the launch to its end (completed and released, or rolled back). A step that fails for want of the
     * store, the bus or the runtime is tried again from the stream after a pause; the launch never skips one.
     */
    const drive = (tenant: string, launchId: string, releaseSlot: Effect.Effect<void>) =>
      Effect.gen(function* () {
        let done = false
        while (!done) {
          done = yield* advance(tenant, launchId, releaseSlot).pipe(
            Effect.tapError((error) => Effect.logWarning("launch step failed; trying again", { tag: error._tag, message: error.message })),
            Effect.retry(untilItWorks.pipe(Schedule.upTo({ times: 30 })))
          )
        }
      }).pipe(
        Effect.ensuring(releaseSlot),
        Effect.annotateLogs({ tenant, launchId }),
        Effect.withSpan("Launch.drive", { attributes: { tenant, launchId } }),
        Effect.provideContext(services)
      )

    return { drive }
  })

export type LaunchRunner = Effect.Success<ReturnType<typeof makeLaunchRunner>>
