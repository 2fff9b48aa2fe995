import { Effect } from "effect"
import type { InstanceId } from "../../domain/ids.ts"
import { type PoolKey, type PoolView, settingsKey } from "../../domain/sagas/shadowSaga.ts"
import { InstanceRuntime } from "../instanceRuntime.ts"
import { loadInstance } from "./instanceState.ts"

/**
 * The recycling pool, read from its two sources of truth: the runtime says which shadows still run, their
 * streams say which of those are recycled (and for what image and tier). No second copy to drift.
 */
export const poolView = Effect.fn("Pool.view")(function* (tenant: string, key: PoolKey) {
  const runtime = yield* InstanceRuntime
  const running = (yield* runtime.list({ tenant, role: "shadow" })).filter((info) => info.running)
  const available: Array<InstanceId> = []
  for (const info of running) {
    const { state } = yield* loadInstance(tenant, info.instanceId)
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
