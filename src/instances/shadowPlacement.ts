import { Duration, Effect } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import { instanceAggregate, type InstanceSpecification } from "../../domain/instance/instance.ts"
import { causedBy, issueCommand, issueOrLogRefusal } from "../commands/issueCommand.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import { isOutage } from "../deadLetters.ts"
import { InstanceRuntime, instanceKey, type RuntimeFailed, tenantReason } from "../instanceRuntime.ts"
import { type AgentSettings, instanceSpec, shadowSpec } from "./runtimeSpec.ts"

export interface RecreationPolicy {
  /**
   * Recreations in a row (without the instance becoming ready in between) before a shadow is given up.
   * Production never is: its state is the client's, so past the limit it is started again on it at the
   * longest wait, for as long as it stays lost (or until its client retires it).
   */
  readonly limit: number
  /** The wait before the first recreation, doubled for each further one. */
  readonly backoffMs: number
  readonly maxBackoffMs: number
}

export const defaultRecreationPolicy: RecreationPolicy = { limit: 5, backoffMs: 250, maxBackoffMs: 10_000 }

export const recreationDelay = (policy: RecreationPolicy, failures: number) =>
  Duration.millis(Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** failures))

/** The runtime answered with an error: a failed attempt to record (an engine that does not answer is waited out instead). */
const refused = (error: RuntimeFailed) => !isOutage(error)

/**
 * Records that the runtime refused the instance's start (`attempt` 0) or recreation: it is lost, and tried
 * again after the recreation's wait (a shadow given up at the limit), rather than its event parked with the
 * instance left requested or lost for good.
 */
const startFailed = (tenant: string, instanceId: InstanceId, attempt: number, error: RuntimeFailed, correlationId: string | undefined) =>
  Effect.gen(function* () {
    yield* Effect.logWarning("the runtime refused to run the instance; it is tried again after a wait", { instanceId, attempt, message: error.message })
    yield* issueCommand(tenant, causedBy(`start-failed/${tenant}/${instanceId}/${attempt}`, correlationId), {
      _tag: "RecordStartFailed",
      instanceId,
      attempt,
      reason: `the runtime refused it: ${tenantReason(error)}`.slice(0, 512)
    })
    return undefined
  })

/**
 * A running container of the tenant's instance is adopted; anything else under its key is removed before a
 * new one is created: one instance has at most one container, whatever crashed where.
 */
const adoptOrCreate = (tenant: string, instanceId: string, spec: InstanceSpecification, agent: AgentSettings) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    const key = instanceKey(tenant, instanceId)
    const existing = yield* runtime.inspect(key)
    if (existing?.running === true) return existing.runtimeId
    if (existing !== undefined) yield* runtime.remove(key)
    return (yield* runtime.create(shadowSpec(tenant, instanceId, spec, agent))).runtimeId
  })

/**
 * ShadowRequested → a running container → InstanceStarted. A crash after the container was created leaves
 * it running under its instance id; the retry adopts it instead of starting a second one.
 */
export const ensureStarted = Effect.fn("Orchestrator.ensureStarted")(function* (
  tenant: string,
  instanceId: InstanceId,
  agent: AgentSettings,
  correlationId?: string
) {
  const { state } = yield* loadAggregate(instanceAggregate, tenant, instanceId)
  if (state._tag !== "Requested") return
  const runtimeId = yield* adoptOrCreate(tenant, instanceId, state.spec, agent).pipe(
    Effect.catchIf(refused, (error) => startFailed(tenant, instanceId, 0, error, correlationId))
  )
  if (runtimeId === undefined) return
  yield* issueCommand(tenant, causedBy(`started/${tenant}/${instanceId}`, correlationId), { _tag: "RecordInstanceStarted", instanceId, runtimeId })
  yield* Effect.logInfo("shadow started", { instanceId, runtimeId })
})

/**
 * A production instance starts again on its own state (the client's, transferred from its shadow): its
 * container, stopped if it hangs, is started again with its volumes (a process again in its directory), at
 * the size the stream says; one that is gone is created anew under the same names.
 */
const restartOnState = (tenant: string, instanceId: string, spec: InstanceSpecification, agent: AgentSettings) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    const key = instanceKey(tenant, instanceId)
    if ((yield* runtime.inspect(key)) === undefined) return (yield* runtime.create(instanceSpec(spec.role, tenant, instanceId, spec, agent))).runtimeId
    yield* runtime.stop(key)
    yield* runtime.start(key)
    return (yield* runtime.resize(key, spec.resources)).runtimeId
  })

/** The silent shadow's container goes before the new one starts, so a profile never has two live shadows. */
const replace = (tenant: string, instanceId: string, spec: InstanceSpecification, agent: AgentSettings) =>
  Effect.gen(function* () {
    const runtime = yield* InstanceRuntime
    yield* runtime.remove(instanceKey(tenant, instanceId))
    return (yield* runtime.create(shadowSpec(tenant, instanceId, spec, agent))).runtimeId
  })

/**
 * HeartbeatLost → a new run of the instance → InstanceRecreated: a shadow is replaced by a new container (its
 * warm state is rebuilt), production restarted on its state. A crash in between repeats the placement (the
 * attempt number, not the container, is what makes the record happen once).
 */
export const recreate = Effect.fn("Orchestrator.recreate")(function* (
  tenant: string,
  instanceId: InstanceId,
  agent: AgentSettings,
  policy: RecreationPolicy,
  correlationId?: string
) {
  const lost = (yield* loadAggregate(instanceAggregate, tenant, instanceId)).state
  if (lost._tag !== "Lost") return
  const pastLimit = lost.failures >= policy.limit
  if (pastLimit && lost.spec.role === "production") {
    yield* Effect.logError("production keeps failing; starting it again on its state", { instanceId, recreations: lost.failures })
  } else if (pastLimit) {
    yield* Effect.logError("instance keeps failing; giving it up", { instanceId, role: lost.spec.role, recreations: lost.failures })
    yield* issueOrLogRefusal(tenant, causedBy(`give-up/${tenant}/${instanceId}/${lost.recreations}`, correlationId), {
      _tag: "TerminateInstance",
      instanceId,
      reason: `no heartbeat after ${lost.failures} recreations`
    })
    return
  }
  yield* Effect.sleep(recreationDelay(policy, lost.failures))
  // Read again after the wait: an instance terminated meanwhile (its client gone) is not brought back.
  const { state } = yield* loadAggregate(instanceAggregate, tenant, instanceId)
  if (state._tag !== "Lost" || state.recreations !== lost.recreations) return
  const attempt = state.recreations + 1
  const runtimeId = yield* (state.spec.role === "production" ? restartOnState : replace)(tenant, instanceId, state.spec, agent).pipe(
    Effect.catchIf(refused, (error) => startFailed(tenant, instanceId, attempt, error, correlationId))
  )
  if (runtimeId === undefined) return
  yield* issueCommand(tenant, causedBy(`recreate/${tenant}/${instanceId}/${attempt}`, correlationId), { _tag: "RecreateInstance", instanceId, attempt, runtimeId })
  yield* Effect.logInfo("instance recreated", { instanceId, role: state.spec.role, runtimeId, attempt })
})
