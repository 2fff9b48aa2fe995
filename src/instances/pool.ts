import { Effect } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import { instanceAggregate } from "../../domain/instance/instance.ts"
import { type PoolKey, type PoolView, settingsKey } from "../../domain/instance/poolKey.ts"
import { InstanceRuntime } from "../instanceRuntime.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"

/**
 * The recycling pool, read from its two sources of truth: the runtime says which shadows still run, their
 * streams say which of those are recycled (and for what image and tier). No second copy to drift.
 */
export const poolView = Effect.fn("Pool.view")(function* (tenant: string, key: PoolKey) {
  const runtime = yield* InstanceRuntime
  const running = (yield* runtime.list({ tenant, role: "shadow" })).filter((info) => info.running)
  const available: Array<InstanceId> = []
  for (const info of running) {
    const { state } = yield* loadAggregate(instanceAggregate, tenant, info.instanceId)
    if (
      state._tag === "Recycled" &&
      state.spec.template.image === key.image &&
      state.spec.tier === key.tier &&
      settingsKey(state.spec.template.settings) === key.settings
    ) {
      available.push(info.instanceId as InstanceId)
    }
  }
  available.sort()
  const view: PoolView = { available, size: available.length }
  return view
})
