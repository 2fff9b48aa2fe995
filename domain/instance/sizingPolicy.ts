import { Schema } from "effect"
import type { Resources } from "../profile/resources.ts"

const Positive = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** What a shadow instance is given: CPU in millicores and memory in MiB (storage follows the template). */
export const ShadowResources = Schema.Struct({ cpuMillis: Positive, memoryMiB: Positive })
export type ShadowResources = typeof ShadowResources.Type

/** A shadow runs at a fraction of the profile's expected peak, never below a floor that keeps the agent alive. */
export interface SizingPolicy {
  readonly fraction: number
  readonly floor: ShadowResources
}

export const defaultSizingPolicy: SizingPolicy = { fraction: 0.25, floor: { cpuMillis: 100, memoryMiB: 128 } }

export const shadowResources = (expected: Resources, policy: SizingPolicy = defaultSizingPolicy): ShadowResources => ({
  cpuMillis: Math.max(policy.floor.cpuMillis, Math.ceil(expected.cpuMillis * policy.fraction)),
  memoryMiB: Math.max(policy.floor.memoryMiB, Math.ceil(expected.memoryMiB * policy.fraction))
})

export const sameResources = (a: ShadowResources, b: ShadowResources) =>
  a.cpuMillis === b.cpuMillis && a.memoryMiB === b.memoryMiB
