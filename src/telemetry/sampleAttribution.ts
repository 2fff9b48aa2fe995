import { Effect } from "effect"
import { tokenPattern } from "../../domain/ids.ts"
import { instanceAggregate } from "../../domain/instance/instance.ts"
import { parseSignalSubject } from "../../domain/subjects.ts"
import { tenantKey } from "../../domain/tenantKey.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import type { DeliveredSignal } from "../eventBus.ts"

/**
 * Whom each instance's samples count for, by instance key: the client key of the client it serves, or null
 * for an instance that serves none (pooled, recycled). An instance Umbra never requested has no entry.
 */
export type Attribution = ReadonlyMap<string, string | null>

/**
 * The attribution of the instances a batch's subjects name, by their aggregates. What a sample says of its
 * client is never believed: an agent could charge its demand to another client.
 */
export const attributeInstances = (signals: ReadonlyArray<DeliveredSignal>) =>
  Effect.gen(function* () {
    const instances = new Map<string, { readonly tenant: string; readonly instanceId: string }>()
    for (const { subject } of signals) {
      const parts = parseSignalSubject(subject)
      // Signals with other names do not decode, and are dropped with them.
      if (parts === undefined || !tokenPattern.test(parts.tenant) || !tokenPattern.test(parts.instanceId)) continue
      const key = tenantKey(parts.tenant, parts.instanceId)
      if (!instances.has(key)) instances.set(key, parts)
    }
    const attributed = new Map<string, string | null>()
    yield* Effect.forEach(
      instances,
      ([key, { tenant, instanceId }]) =>
        loadAggregate(instanceAggregate, tenant, instanceId).pipe(
          Effect.map(({ state }) => {
            if (state._tag !== "Absent") attributed.set(key, state._tag === "Recycled" ? null : tenantKey(tenant, state.spec.clientId))
          })
        ),
      { concurrency: 8, discard: true }
    )
    return attributed as Attribution
  })
