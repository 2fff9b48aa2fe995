import { Effect } from "effect"
import { instanceAggregate } from "../../domain/instance/instance.ts"
import { type TenantKey, tenantKey } from "../../domain/tenantKey.ts"
import type { SampleInput } from "../../projections/telemetryBuckets.ts"
import { loadAggregate } from "../commands/loadAggregate.ts"
import type { DecodedSignal } from "./signalDecoding.ts"

type Sample = Extract<DecodedSignal, { readonly kind: "tm" }>

/**
 * Whom an instance's samples count for, by its aggregate: the client it serves (a pooled instance serves
 * none), or undefined for an instance Umbra never requested. What a sample says of its client is never
 * believed: an agent could charge its demand to another client.
 */
const recordedClient = (tenant: string, instanceId: string) =>
  loadAggregate(instanceAggregate, tenant, instanceId).pipe(
    Effect.map(({ state }): { readonly clientKey: TenantKey | undefined } | undefined =>
      state._tag === "Absent"
        ? undefined
        : { clientKey: state._tag === "Recycled" ? undefined : tenantKey(tenant, state.spec.clientId) }
    )
  )

/** The batch's samples keyed to their instance and its recorded client; samples of unknown instances are left out. */
export const attributeSamples = (samples: ReadonlyArray<Sample>) =>
  Effect.gen(function* () {
    const keys = samples.map((signal) => tenantKey(signal.tenant, signal.sample.instanceId))
    const instances = new Map<TenantKey, Sample>()
    samples.forEach((signal, i) => instances.set(keys[i]!, signal))
    const clients = new Map(
      yield* Effect.forEach(
        instances,
        ([key, signal]) => recordedClient(signal.tenant, signal.sample.instanceId).pipe(Effect.map((client) => [key, client] as const)),
        { concurrency: 8 }
      )
    )
    const inputs: Array<SampleInput> = []
    samples.forEach((signal, i) => {
      const client = clients.get(keys[i]!)
      if (client !== undefined) inputs.push({ sample: signal.sample, atMs: signal.atMs, instanceKey: keys[i]!, clientKey: client.clientKey })
    })
    return inputs
  })
