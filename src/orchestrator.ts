import { Effect } from "effect"
import { productionSaga } from "../domain/sagas/productionSaga.ts"
import { makeShadowSaga, type ShadowSagaPolicy } from "../domain/sagas/shadowSaga.ts"
import { runDependencyRecorder } from "./instances/dependencyRecorder.ts"
import { runInstanceRunner } from "./instances/instanceRunner.ts"
import { poolView } from "./instances/pool.ts"
import { reconcile } from "./instances/reconciler.ts"
import type { AgentSettings } from "./instances/runtimeSpec.ts"
import type { RecreationPolicy } from "./instances/shadowPlacement.ts"
import { runUsageSizer, type UsageSizerOptions } from "./instances/usageSizer.ts"
import { makeWatchdog, type WatchdogOptions } from "./instances/watchdog.ts"
import { InstanceRuntime } from "./instanceRuntime.ts"
import { makeLaunchDispatcher, recoverLaunches, runLaunchConsumer } from "./launch/launchDispatcher.ts"
import { type LaunchPolicy, makeLaunchRunner } from "./launch/launchRunner.ts"
import { runProductionEndpoint } from "./launch/productionEndpoint.ts"
import { loadLaunchView } from "./launch/launchState.ts"
import { catchUpLiveIndex, followLiveIndex } from "./projections/liveIndex.ts"
import { runSaga } from "./sagas/sagaRunner.ts"

export interface OrchestratorOptions {
  readonly saga: ShadowSagaPolicy
  readonly watchdog: WatchdogOptions
  readonly recreation: RecreationPolicy
  readonly agent: AgentSettings
  readonly launch: LaunchPolicy
  /** How shadows follow their own use; undefined leaves them at the size their profile gives. */
  readonly usageSizing: UsageSizerOptions | undefined
}

/**
 * Starts the launches: those the store holds unfinished are resumed (or queued again), then new ones are
 * queued as they are requested; a client's endpoint then follows its production instance. A recovery that cannot finish is logged; new launches still run.
 */
const startLaunches = (policy: LaunchPolicy) =>
  Effect.gen(function* () {
    const dispatcher = yield* makeLaunchDispatcher(yield* makeLaunchRunner(policy), policy.maxConcurrentProvisioning)
    yield* recoverLaunches(dispatcher).pipe(Effect.tapCause((cause) => Effect.logError("launch recovery failed", cause)), Effect.ignore)
    yield* runLaunchConsumer(dispatcher)
    yield* runProductionEndpoint(policy.agent)
    return dispatcher
  })

/**
 * Starts everything that acts on the instance runtime, in the current scope: the watchdog, a
 * reconciliation of the store with the runtime, then the instance runner, the shadow and production sagas,
 * the sizing of shadows by their use, the recording of their dependencies and the launches. Returns the watchdog, what the reconciliation found, and the launch queue.
 */
export const startOrchestrator = Effect.fn("Orchestrator.start")(function* (options: OrchestratorOptions) {
  const runtime = yield* InstanceRuntime
  const watchdog = yield* makeWatchdog(options.watchdog)
  // Reconciliation and launch recovery start from the live index: first it folds what it has not seen yet.
  yield* catchUpLiveIndex.pipe(Effect.tapCause((cause) => Effect.logError("the live index could not catch up; starting from it as it is", cause)), Effect.ignore)
  // A reconciliation that cannot finish (runtime or store unreachable) must not keep the runners from starting.
  const reconciliation = yield* reconcile(watchdog, options.agent).pipe(
    Effect.tapCause((cause) => Effect.logError("reconciliation failed; starting without it", cause)),
    Effect.option
  )
  yield* runInstanceRunner({ agent: options.agent, recreation: options.recreation }, watchdog)
  yield* runSaga(makeShadowSaga(options.saga), poolView)
  yield* runSaga(productionSaga, loadLaunchView)
  if (options.usageSizing !== undefined) yield* runUsageSizer(options.usageSizing)
  yield* runDependencyRecorder()
  const launches = yield* startLaunches(options.launch)
  // Only now, so that nothing folds the index while start-up reads it; from here it follows the log.
  yield* Effect.forkScoped(followLiveIndex)
  yield* Effect.logInfo("Umbra orchestrator running", { runtime: runtime.kind })
  return { watchdog, reconciliation, launches }
})
