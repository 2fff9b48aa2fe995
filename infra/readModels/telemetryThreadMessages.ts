import type { TenantKey } from "../../domain/tenantKey.ts"
import type { SampleInput } from "../../projections/telemetryBuckets.ts"
import type { TelemetryBatch } from "../../src/telemetry/telemetryApplier.ts"

/**
 * A batch as it crosses to the applier thread: the samples' numbers in buffers that are moved, not copied,
 * their keys once each, and the workload metrics of the samples that carry any.
 */
export interface PackedBatch {
  readonly id: number
  readonly throughSeq: number
  readonly keys: ReadonlyArray<string>
  /** Per sample, the index in `keys` of its instance, and of its client (-1 for none). */
  readonly instances: Int32Array
  readonly clients: Int32Array
  readonly atMs: Float64Array
  readonly cpu: Float64Array
  readonly memBytes: Float64Array
  readonly metrics: ReadonlyArray<readonly [number, Readonly<Record<string, number>>]>
}

export const packBatch = (id: number, { inputs, throughSeq }: TelemetryBatch): { readonly packed: PackedBatch; readonly transfer: ReadonlyArray<ArrayBuffer> } => {
  const indexes = new Map<string, number>()
  const indexOf = (key: string) => {
    let index = indexes.get(key)
    if (index === undefined) indexes.set(key, (index = indexes.size))
    return index
  }
  const instances = new Int32Array(inputs.length)
  const clients = new Int32Array(inputs.length)
  const atMs = new Float64Array(inputs.length)
  const cpu = new Float64Array(inputs.length)
  const memBytes = new Float64Array(inputs.length)
  const metrics: Array<readonly [number, Readonly<Record<string, number>>]> = []
  inputs.forEach(({ sample, atMs: at = Date.parse(sample.at ?? ""), instanceKey, clientKey }, i) => {
    instances[i] = indexOf(instanceKey)
    clients[i] = clientKey === undefined ? -1 : indexOf(clientKey)
    atMs[i] = at
    cpu[i] = sample.cpu
    memBytes[i] = sample.memBytes
    if (sample.metrics !== undefined) metrics.push([i, sample.metrics])
  })
  return {
    packed: { id, throughSeq, keys: [...indexes.keys()], instances, clients, atMs, cpu, memBytes, metrics },
    transfer: [instances.buffer, clients.buffer, atMs.buffer, cpu.buffer, memBytes.buffer]
  }
}

export const unpackBatch = ({ throughSeq, keys, instances, clients, atMs, cpu, memBytes, metrics }: PackedBatch): TelemetryBatch => {
  const carried = new Map(metrics)
  const inputs = Array.from({ length: atMs.length }, (_, i): SampleInput => {
    const carries = carried.get(i)
    return {
      sample: carries === undefined ? { cpu: cpu[i]!, memBytes: memBytes[i]! } : { cpu: cpu[i]!, memBytes: memBytes[i]!, metrics: carries },
      atMs: atMs[i]!,
      instanceKey: keys[instances[i]!] as TenantKey,
      clientKey: clients[i] === -1 ? undefined : (keys[clients[i]!] as TenantKey)
    }
  })
  return { inputs, throughSeq }
}
