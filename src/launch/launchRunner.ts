import { Clock, Duration, Effect, Option, Schedule } from "effect"
import type { ClientId, InstanceId, LaunchId } from "../../domain/ids.ts"
import { summarizeLatency } from "../../domain/instance/heartbeatLatency.ts"
import type { PoolPolicy } from "../../domain/instance/poolPolicy.ts"
import { poolKeyOf } from "../../domain/instance/poolKey.ts"
import { endpointPortOf, endpointPorts } from "../../domain/launch/endpointPort.ts"
import { isProvisioning, type LaunchCommand, type LaunchPlan, passedOf } from "../../domain/launch/launch.ts"
import {
  defaultLaunchWorkflowPolicy,
  type HoldReading,
  judgeHold,
  type LaunchAction,
  type LaunchObservation,
  launchWorkflow,
  type LaunchWorkflowPolicy
} from "../../domain/launch/launchWorkflow.ts"
import { untilItWorks } from "../backoff.ts"
import { CommandHandler } from "../commands/commandHandler.ts"
import { causedBy, issueCommand, issueOrLogRefusal } from "../commands/issueCommand.ts"
import { EventBus } from "../eventBus.ts"
import { EventStore } from "../eventStore/eventStore.ts"
import { InstanceRuntime, instanceKey, reasonInLog, RuntimeFailed, tenantReason } from "../instanceRuntime.ts"
import { prepareTransfer } from "../instances/agentControl.ts"
import { poolView } from "../instances/pool.ts"
import type { AgentSettings } from "../instances/runtimeSpec.ts"
import { StateTransfer, type TransferFailed } from "../stateTransfer.ts"
import { type RouteMetrics, type RouterFailed, TrafficRouter } from "../trafficRouter.ts"
import { windowOf } from "../trafficWindow.ts"
import { endpointKey, endpointRoute, launchSpecs } from "./endpoint.ts"
import { type LastBeat, watchHeartbeats } from "./heartbeatWatch.ts"
import { planProduction } from "./launchPlan.ts"
import { loadLaunch } from "./launchState.ts"

/** The launch policy: the workflow's decisions (steps, hold, gates, timeouts, pool) and how the runner performs them. */
export interface LaunchPolicy extends LaunchWorkflowPolicy {
  readonly agent: AgentSettings
  /** How often the runner reads production's heartbeat (and, during a hold, the router's figures). */
  readonly checkEveryMs: number
  /** Launches provisioning (up to the end of their state transfer) at once; the others wait in the queue. */
  readonly maxConcurrentProvisioning: number
  readonly transferMaxBytes: number
  /** How long the shadow's requests in flight may take to finish once production has all traffic. */
  readonly drainMs: number
  /** How many times a step failing for want of the store, the bus or the runtime is tried again before the launch gives up. */
  readonly stepRetries: number
  /** Whether production's agent reads the profile's inferred dependencies into the page cache before its workload starts. */
  readonly preloadDependencies: boolean
}

/** The runner's defaults (`UMBRA_LAUNCH_CONCURRENCY`, `UMBRA_TRANSFER_MAX_BYTES` among them); the workflow has its own. */
export const launchRunnerDefaults = {
  checkEveryMs: 250,
  maxConcurrentProvisioning: 2,
  transferMaxBytes: 1024 ** 3,
  drainMs: 10_000,
  stepRetries: 30,
  preloadDependencies: true
} as const satisfies Partial<LaunchPolicy>

export const defaultLaunchPolicy = (agent: AgentSettings, pool: PoolPolicy): LaunchPolicy => ({
  ...defaultLaunchWorkflowPolicy,
  ...launchRunnerDefaults,
  agent,
  pool
})

/** A launch command without its launch id, which the runner adds. */
type LaunchStep = LaunchCommand extends infer C ? (C extends LaunchCommand ? Omit<C, "launchId"> : never) : never

type ActionOf<Tag extends LaunchAction["_tag"]> = Extract<LaunchAction, { readonly _tag: Tag }>

const recorded: LaunchObservation = { _tag: "Recorded" }
const settled: LaunchObservation = { _tag: "Settled" }
const failed = (reason: string): LaunchObservation => ({ _tag: "Failed", reason })

/**
 * A step the runtime refused fails the launch. The launch's events are the tenant's: they say what the tenant
 * may read of the failure, and Umbra's log says the rest (the engine's messages name host paths).
 */
const runtimeRefused = (step: string) => (error: RuntimeFailed) =>
  Effect.logWarning(`${step}: the runtime refused`, { instanceId: error.instanceId, message: error.message }).pipe(
    Effect.as(failed(`${step}: ${tenantReason(error)}`))
  )

/** Why a step failed through all its tries, as the launch's rollback tells the tenant (the log has the message). */
const gaveUpReason = (error: { readonly _tag: string; readonly message: string }) =>
  error instanceof RuntimeFailed ? `${error._tag}: ${tenantReason(error)}` : `${error._tag}: ${reasonInLog}`

/** A failed transfer fails the launch: a refusal of the tenant's own state is told, one of the runtime only logged. */
const transferFailed = (error: TransferFailed) =>
  error.reason === "runtime"
    ? Effect.logWarning("state transfer failed in the runtime", { message: error.message }).pipe(
      Effect.as(failed(`state transfer failed (runtime): ${reasonInLog}`))
    )
    : Effect.succeed(failed(`state transfer failed (${error.reason}): ${error.message}`))

/**
 * Identity files the template declares (relative to its state path), left out of the copy; a template
 * stored before it had the field named them in its UMBRA_IDENTITY_FILES setting.
 */
const identityFiles = (plan: LaunchPlan) =>
  plan.template.identityFiles ??
    (plan.template.settings["UMBRA_IDENTITY_FILES"] ?? "").split(",").map((file) => file.trim()).filter((file) => file !== "")

type Services = CommandHandler | EventStore | EventBus | InstanceRuntime | StateTransfer | TrafficRouter

/**
 * Drives launches from their streams: every step reads the launch's state, asks the launch workflow
 * (`domain/launch/launchWorkflow.ts`) for the one action that state and the last observation call for,
 * performs it and reports what it saw. A launch resumed after a crash therefore continues from its last
 * recorded step; the production container is named by the launch, so a repeated provisioning finds it
 * instead of making a second. `releaseSlot` is called once the launch no longer provisions (its transfer is
 * done or it ended).
 */
export const makeLaunchRunner = (policy: LaunchPolicy) =>
  Effect.gen(function* () {
    const services = yield* Effect.context<Services>()
    const runtime = yield* InstanceRuntime
    const router = yield* TrafficRouter
    const transfer = yield* StateTransfer
    const workflow = launchWorkflow(policy)
    const checkEvery = Schedule.spaced(Duration.millis(policy.checkEveryMs))

    // Built afresh for every run of a launch: what a run follows (production's heartbeats) ends with it.
    const drive = (tenant: string, launchId: string, releaseSlot: Effect.Effect<void>) => Effect.suspend(() => {
      /** Records a step of the launch; its id names the launch, the step and (for a shift) the weight. */
      const record = (step: LaunchStep) =>
        issueCommand(
          tenant,
          causedBy(`launch/${tenant}/${launchId}/${step._tag}/${"weight" in step ? step.weight : ""}`, launchId),
          { ...step, launchId: launchId as LaunchId } as LaunchCommand
        )

      /** Points the client's endpoint at production for `weight` percent. */
      const routeTo = (clientId: ClientId, plan: LaunchPlan, weight: number) =>
        router.setRoute(
          endpointRoute(tenant, clientId, endpointPortOf(tenant, clientId, plan.endpointPort), launchSpecs(tenant, clientId, plan, policy.agent), weight)
        )

      /** A router that refuses a step of an unfinished launch fails the launch. */
      const refusedRoute = (error: RouterFailed) => failed(`the traffic router refused the route: ${error.message}`)

      /** Points the client's endpoint at production for `weight` percent, in a step of an unfinished launch. */
      const routeOrFail = (clientId: ClientId, plan: LaunchPlan, weight: number) =>
        routeTo(clientId, plan, weight).pipe(
          Effect.as(undefined),
          Effect.catchTag("RouterFailed", (error) => Effect.succeed(refusedRoute(error)))
        )

      /** All traffic back to the shadow (a router that refuses is logged: the rollback itself must not stop). */
      const routeBack = (clientId: ClientId, plan: LaunchPlan) =>
        routeTo(clientId, plan, 0).pipe(
          Effect.catchTag("RouterFailed", (error) => Effect.logError("cannot route the client back to its shadow", { message: error.message }))
        )

      /** Production finishes what it was serving, then goes: the client keeps its shadow. */
      const removeProduction = (clientId: ClientId, plan: LaunchPlan) =>
        router.drain(endpointKey(tenant, clientId), plan.productionInstanceId, policy.drainMs).pipe(
          Effect.andThen(runtime.remove(instanceKey(tenant, plan.productionInstanceId)))
        )

      /** Production's heartbeats, followed from the first time they are asked for until the launch's run ends. */
      const followed = new Map<InstanceId, Effect.Effect<LastBeat>>()
      const heartbeatsOf = (instanceId: InstanceId) =>
        Effect.suspend(() => {
          const known = followed.get(instanceId)
          if (known !== undefined) return Effect.succeed(known)
          return watchHeartbeats(tenant, instanceId).pipe(Effect.tap((lastBeat) => Effect.sync(() => void followed.set(instanceId, lastBeat))))
        })

      /** Opens the client's endpoint on the first of `ports` that is free, all traffic on the shadow; the plan records which. */
      const openOn = (clientId: ClientId, plan: LaunchPlan, ports: ReadonlyArray<number>): Effect.Effect<LaunchPlan, RouterFailed> => {
        const [port, ...others] = ports
        const planned: LaunchPlan = { ...plan, endpointPort: port! }
        return routeTo(clientId, planned, 0).pipe(
          Effect.as(planned),
          Effect.catchIf((error) => error.portInUse === true && others.length > 0, () => openOn(clientId, plan, others))
        )
      }

      const fixPlan = ({ clientId, plan }: ActionOf<"FixPlan">) =>
        Effect.gen(function* () {
          // An endpoint an earlier launch of the client opened keeps its port; a new one takes the first of the client's ports that is free.
          const live = yield* router.metrics(endpointKey(tenant, clientId))
          const planned = yield* openOn(clientId, plan, live === undefined ? endpointPorts(tenant, clientId) : [live.port])
          yield* record({ _tag: "StartProvisioning", ...planned })
          return recorded
        }).pipe(Effect.catchTag("RouterFailed", (error) => Effect.succeed(refusedRoute(error))))

      const provision = ({ clientId, plan }: ActionOf<"Provision">) =>
        Effect.gen(function* () {
          const { production } = launchSpecs(tenant, clientId, plan, policy.agent)
          const info = (yield* runtime.inspect(production)) ?? (yield* runtime.create(production, { start: false }))
          yield* record({ _tag: "RecordProductionProvisioned", runtimeId: info.runtimeId, cpuMillis: info.cpuMillis, memoryMiB: info.memoryMiB })
          yield* Effect.logInfo("production provisioned", { instanceId: plan.productionInstanceId, cpuMillis: info.cpuMillis, memoryMiB: info.memoryMiB })
          return recorded
        }).pipe(Effect.catchTag("RuntimeFailed", runtimeRefused("provisioning failed")))

      const copyState = ({ plan }: ActionOf<"Transfer">) =>
        Effect.gen(function* () {
          const report = yield* transfer.transfer({
            tenant,
            fromInstanceId: plan.shadowInstanceId,
            toInstanceId: plan.productionInstanceId,
            paths: plan.template.statePaths,
            identityFiles: identityFiles(plan),
            maxBytes: policy.transferMaxBytes
          })
          yield* record({
            _tag: "RecordStateTransfer",
            bytes: report.bytes,
            files: report.files,
            checksum: report.checksum,
            ms: Math.round(report.ms),
            reset: report.reset
          })
          return recorded
        }).pipe(Effect.catchTag("TransferFailed", transferFailed))

      /** Starts production and waits for its agent to report ready. */
      const startProduction = ({ plan, readyTimeoutMs }: ActionOf<"StartProduction">) =>
        Effect.gen(function* () {
          const lastBeat = yield* heartbeatsOf(plan.productionInstanceId)
          const production = instanceKey(tenant, plan.productionInstanceId)
          if ((yield* runtime.inspect(production)) === undefined) return failed("the production container is gone")
          const refused = yield* runtime.start(production).pipe(
            Effect.as(undefined),
            Effect.catchTag("RuntimeFailed", runtimeRefused("production did not start"))
          )
          if (refused !== undefined) return refused
          return yield* lastBeat.pipe(
            Effect.repeat({ schedule: checkEvery, until: (beat) => beat.ready }),
            Effect.timeout(Duration.millis(readyTimeoutMs)),
            Effect.as<LaunchObservation>({ _tag: "ProductionReady" }),
            Effect.catchTag("TimeoutError", () => Effect.succeed<LaunchObservation>({ _tag: "ReadyTimedOut" }))
          )
        })

      const shift = ({ clientId, plan, weight, passed }: ActionOf<"Shift">) =>
        Effect.gen(function* () {
          yield* record({ _tag: "ShiftTraffic", weight, ...passedOf(passed) })
          const refused = yield* routeOrFail(clientId, plan, weight)
          if (refused !== undefined) return refused
          yield* Effect.logInfo("traffic shifted", { weight })
          return { _tag: "Shifted", weight } satisfies LaunchObservation
        })

      /** Reads production's heartbeat and the router's figures for this step alone until the step's hold is judged. */
      const hold = ({ clientId, plan, weight }: ActionOf<"Hold">) =>
        Effect.gen(function* () {
          const key = endpointKey(tenant, clientId)
          const lastBeat = yield* heartbeatsOf(plan.productionInstanceId)
          const upstreamOf = (metrics: RouteMetrics | undefined) =>
            metrics?.upstreams.find((upstream) => upstream.id === plan.productionInstanceId)
          const before = upstreamOf(yield* router.metrics(key))
          const since = yield* Clock.currentTimeMillis
          const reading = Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            const beat = yield* lastBeat
            const after = upstreamOf(yield* router.metrics(key))
            const window = after === undefined ? undefined : windowOf(before, after)
            const held: HoldReading = {
              weight,
              heldMs: now - since,
              heartbeatAgeMs: beat.atMs === undefined ? undefined : now - beat.atMs,
              ready: beat.ready,
              heartbeatLatency: summarizeLatency(beat.rttMs),
              window: window === undefined ? undefined : { requests: window.requests, errors: window.errors, p99Ms: window.p99Ms }
            }
            return held
          })
          const last = yield* reading.pipe(Effect.repeat({ schedule: checkEvery, until: (held) => judgeHold(held, policy)._tag !== "Holding" }))
          return { _tag: "Held", reading: last } satisfies LaunchObservation
        })

      const countPool = ({ plan, passed }: ActionOf<"CountPool">) =>
        poolView(tenant, poolKeyOf(plan.tier, plan.template)).pipe(
          Effect.map((pool) => ({ _tag: "PoolCounted", size: pool.size, ...passedOf(passed) }) satisfies LaunchObservation)
        )

      /** Production has all traffic: the shadow finishes what it was serving. */
      const handOver = ({ clientId, plan }: ActionOf<"HandOver">) =>
        Effect.gen(function* () {
          yield* routeTo(clientId, plan, 100)
          yield* router.drain(endpointKey(tenant, clientId), plan.shadowInstanceId, policy.drainMs)
          return { _tag: "HandedOver" } satisfies LaunchObservation
        })

      const releaseShadow = ({ plan, disposition }: ActionOf<"ReleaseShadow">) =>
        Effect.gen(function* () {
          const key = `launch/${tenant}/${launchId}/release`
          if (disposition === "recycled") {
            const outcome = yield* issueOrLogRefusal(tenant, causedBy(key, launchId), { _tag: "RecycleInstance", instanceId: plan.shadowInstanceId })
            if (Option.isNone(outcome)) return { _tag: "RecycleRefused" } satisfies LaunchObservation
          } else {
            yield* issueOrLogRefusal(tenant, causedBy(`${key}/terminate`, launchId), {
              _tag: "TerminateInstance",
              instanceId: plan.shadowInstanceId,
              reason: "production took over"
            })
          }
          yield* record({ _tag: "RecordShadowReleased", disposition })
          yield* Effect.logInfo("shadow released", { shadowInstanceId: plan.shadowInstanceId, disposition })
          return settled
        })

      /** Traffic back to the shadow first, so that the client is served throughout; then the record; then cleanup. */
      const rollBack = ({ clientId, plan, stage, reason }: ActionOf<"RollBack">) =>
        Effect.gen(function* () {
          yield* Effect.logWarning("launch rolling back", { reason, stage })
          if (plan !== undefined) yield* routeBack(clientId, plan)
          yield* record({ _tag: "RollBackLaunch", reason })
          if (plan !== undefined) yield* removeProduction(clientId, plan)
          return settled
        })

      /** The client is gone: its endpoint stops listening once its requests in flight are done, then production goes. */
      const removeRetired = ({ clientId, plan }: ActionOf<"RemoveProduction">) =>
        router.removeRoute(endpointKey(tenant, clientId), policy.drainMs).pipe(
          Effect.andThen(runtime.remove(instanceKey(tenant, plan.productionInstanceId))),
          Effect.andThen(Effect.logInfo("production removed with its client", { productionInstanceId: plan.productionInstanceId })),
          Effect.as<LaunchObservation>({ _tag: "ProductionRemoved" })
        )

      const restoreRoute = ({ clientId, plan, to }: ActionOf<"RestoreRoute">) =>
        to === "production"
          ? routeTo(clientId, plan, 100).pipe(Effect.as(settled))
          : routeBack(clientId, plan).pipe(Effect.andThen(removeProduction(clientId, plan)), Effect.as(settled))

      const perform = (action: Exclude<LaunchAction, ActionOf<"Done">>) =>
        Effect.gen(function* () {
          switch (action._tag) {
            case "Plan":
              return yield* planProduction(tenant, launchId, action.clientId, policy.preloadDependencies).pipe(
                Effect.map((planned): LaunchObservation => planned.plan === undefined ? failed(planned.reason) : { _tag: "Planned", plan: planned.plan })
              )
            case "FixPlan":
              return yield* fixPlan(action)
            case "Provision":
              return yield* provision(action)
            case "PrepareTransfer":
              return yield* prepareTransfer(tenant, action.plan.shadowInstanceId).pipe(
                Effect.andThen(record({ _tag: "StartStateTransfer" })),
                Effect.as(recorded)
              )
            case "Transfer":
              return yield* copyState(action)
            case "StartProduction":
              return yield* startProduction(action)
            case "Shift":
              return yield* shift(action)
            case "Hold":
              return yield* hold(action)
            case "CountPool":
              return yield* countPool(action)
            case "Complete":
              return yield* record({
                _tag: "CompleteLaunch",
                shadowDisposition: action.shadowDisposition,
                ...passedOf(action.passed)
              }).pipe(
                Effect.andThen(Effect.logInfo("launch completed", {
                  productionInstanceId: action.plan.productionInstanceId,
                  shadowDisposition: action.shadowDisposition
                })),
                Effect.as(recorded)
              )
            case "HandOver":
              return yield* handOver(action)
            case "ReleaseShadow":
              return yield* releaseShadow(action)
            case "RollBack":
              return yield* rollBack(action)
            case "RestoreRoute":
              return yield* restoreRoute(action)
            case "RemoveProduction":
              return yield* removeRetired(action)
          }
        })

      /** The step last tried: what a launch that gives up names in its reason. */
      let trying = "ReadLaunch"

      /**
       * One step: read the stream, decide, perform; what was seen, or undefined once the launch has nothing
       * more to do. A step that fails for want of the store, the bus or the runtime is tried again from the
       * stream after a pause; the launch never skips one.
       */
      const step = (observation: LaunchObservation) =>
        Effect.gen(function* () {
          trying = "ReadLaunch"
          const { state } = yield* loadLaunch(tenant, launchId)
          if (!isProvisioning(state)) yield* releaseSlot
          const action = workflow.decide(state, observation)
          if (action._tag === "Done") return undefined
          trying = action._tag
          return yield* perform(action).pipe(Effect.withSpan(`Launch.${action._tag}`))
        }).pipe(
          Effect.tapError((error) => Effect.logWarning("launch step failed; trying again", { tag: error._tag, message: error.message })),
          Effect.retry(untilItWorks.pipe(Schedule.upTo({ times: policy.stepRetries })))
        )

      /**
       * Steps until the launch is done. A step still failing after its retries is reported to the workflow
       * once (an unfinished launch rolls back rather than wait for a restart); failing again, the run stops.
       */
      const run = (
        observation: LaunchObservation,
        gaveUp: boolean
      ): Effect.Effect<void, Effect.Error<ReturnType<typeof step>>, Effect.Services<ReturnType<typeof step>>> =>
        step(observation).pipe(
          Effect.matchEffect({
            onFailure: (error) =>
              gaveUp
                ? Effect.fail(error)
                : Effect.logError("launch step failed through all its tries; the launch cannot go on", { step: trying, message: error.message }).pipe(
                  Effect.andThen(run({ _tag: "GaveUp", step: trying, tries: policy.stepRetries + 1, message: gaveUpReason(error) }, true))
                ),
            onSuccess: (next) => (next === undefined ? Effect.void : run(next, gaveUp))
          })
        )

      return run({ _tag: "Loaded" }, false).pipe(
        Effect.scoped,
        Effect.ensuring(releaseSlot),
        Effect.annotateLogs({ tenant, launchId }),
        Effect.withSpan("Launch.drive", { attributes: { tenant, launchId } }),
        Effect.provideContext(services)
      )
    })

    return { drive }
  })

export type LaunchRunner = Effect.Success<ReturnType<typeof makeLaunchRunner>>
