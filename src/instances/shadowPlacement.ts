import { Duration, Effect } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import { instanceAggregate, type InstanceSpecification } from "../../domain/instance/instance.ts"
import { causedBy, issueCommand, issueOrLogRefusal } from "../commands/issueCommand.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import { InstanceRuntime, instanceKey } from "../instanceRuntime.ts"
import { type AgentSettings, shadowSpec } from "./runtimeSpec.ts"

export interface RecreationPolicy {
  /** Recreations in a row (without the instance becoming ready in between) before the shadow is given up. */
  readonly limit: number
  /** The wait before the first recreation, doubled for each further one. */
  readonly backoffMs: number
  readonly maxBackoffMs: number
}

export const defaultRecreationPolicy: RecreationPolicy = { limit: 5, backoffMs: 250, maxBackoffMs: 10_000 }

export const recreationDelay = (policy: RecreationPolicy, failures: number) =>
  Duration.millis(Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** failures))

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
  const runtimeId = yield* adoptOrCreate(tenant, instanceId, state.spec, agent)
  yield* issueCommand(tenant, causedBy(`started/${tenant}/${instanceId}`, correlationId), { _tag: "RecordInstanceStarted", instanceId, runtimeId })
  yield* Effect.logInfo("shadow started", { instanceId, runtimeId })
})

/**
 * HeartbeatLost → remove the silent container → create a new one → InstanceRecreated. The old container
 * goes before the new one starts, so a profile never has two live shadows; a crash in between repeats the
 * removal and creation (the attempt number, not the container, is what makes the record happen once).
 */
export const recreate = Effect.fn("Orchestrator.recreate")(function* (
  tenant: string,
  instanceId: InstanceId,
  agent: AgentSettings,
  policy: RecreationPolicy,
  correlationId?: string
) {
  const { state } = yield* loadAggregate(instanceAggregate, tenant, instanceId)
  if (state._tag !== "Lost") return
  if (state.failures >= policy.limit) {
    yield* Effect.logError("shadow keeps failing; giving it up", { instanceId, recreations: state.failures })
    yield* issueOrLogRefusal(tenant, causedBy(`give-up/${tenant}/${instanceId}/${state.recreations}`, correlationId), {
      _tag: "TerminateInstance",
      instanceId,
      reason: `no heartbeat after ${state.failures} recreations`
    })
    return
  }
  yield* Effect.sleep(recreationDelay(policy, state.failures))
  const runtime = yield* InstanceRuntime
  yield* runtime.remove(instanceKey(tenant, instanceId))
  const { runtimeId } = yield* runtime.create(shadowSpec(tenant, instanceId, state.spec, agent))
  const attempt = state.recreations + 1
  yield* issueCommand(tenant, causedBy(`recreate/${tenant}/${instanceId}/${attempt}`, correlationId), { _tag: "RecreateInstance", instanceId, attempt, runtimeId })
  yield* Effect.logInfo("shadow recreated", { instanceId, runtimeId, attempt })
})
