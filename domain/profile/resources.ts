import { Schema } from "effect"

export const Tier = Schema.Literals(["basic", "standard", "premium"])
export type Tier = typeof Tier.Type

const Positive = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/** Expected demand: CPU in millicores, memory in MiB, storage in GiB. */
export const Resources = Schema.Struct({
  cpuMillis: Positive,
  memoryMiB: Positive,
  storageGiB: Positive
})
export type Resources = typeof Resources.Type

/** What a tier expects before any telemetry exists; the forecaster refines it from there. */
export const tierDefaults: Readonly<Record<Tier, Resources>> = {
  basic: { cpuMillis: 500, memoryMiB: 512, storageGiB: 10 },
  standard: { cpuMillis: 2000, memoryMiB: 4096, storageGiB: 50 },
  premium: { cpuMillis: 8000, memoryMiB: 16384, storageGiB: 200 }
}
