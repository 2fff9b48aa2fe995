import type { Resources } from "../profile/resources.ts"
import { shadowResources, type ShadowResources, type SizingPolicy } from "./sizingPolicy.ts"

/** What a running shadow used, as one telemetry sample said, and whether its workload was still warming then. */
export interface UsageSample {
  readonly atMs: number
  readonly cpuMillis: number
  readonly memoryMiB: number
  readonly warming: boolean
}

/**
 * How a shadow follows its own use: over a window of samples, a share of its allocation above `growAbove`
 * grows it and below `shrinkBelow` shrinks it, to the middle of that band (so the next window lands inside
 * it), rounded up to a step; at most one change per cool-down.
 */
export interface UsageSizingPolicy {
  readonly windowMs: number
  readonly coolDownMs: number
  readonly growAbove: number
  readonly shrinkBelow: number
  readonly step: ShadowResources
}

export const defaultUsageSizingPolicy: UsageSizingPolicy = {
  windowMs: 5 * 60_000,
  coolDownMs: 2 * 60_000,
  growAbove: 0.8,
  shrinkBelow: 0.4,
  step: { cpuMillis: 50, memoryMiB: 64 }
}

/** Between the floor and the share of the predicted peak a shadow is given when it starts. */
export interface ShadowBounds {
  readonly floor: ShadowResources
  readonly ceiling: ShadowResources
}

export const shadowBounds = (expected: Resources, sizing: SizingPolicy): ShadowBounds => ({
  floor: sizing.floor,
  ceiling: shadowResources(expected, sizing)
})

export interface UsageSizingInput {
  readonly bounds: ShadowBounds
  readonly current: ShadowResources
  readonly samples: ReadonlyArray<UsageSample>
  /** When the shadow was last given a size (resized, or claimed from the pool); undefined if never since it started. */
  readonly lastSizedAtMs: number | undefined
  readonly nowMs: number
}

export type UsageDecision =
  | { readonly _tag: "Keep"; readonly why: string }
  | { readonly _tag: "Resize"; readonly resources: ShadowResources; readonly reason: string }

/** The use that 90 % of the samples stayed at or under: a peak seen once is not a need. */
const p90 = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.ceil(sorted.length * 0.9) - 1]!
}

/** Samples arrive at the agent's interval and the window's edges fall between them: most of it is enough. */
const coverage = 0.75

const duration = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`)

type Dimension = "cpuMillis" | "memoryMiB"
const units: Record<Dimension, { readonly name: string; readonly unit: string }> = {
  cpuMillis: { name: "cpu", unit: "m" },
  memoryMiB: { name: "memory", unit: " MiB" }
}

/**
 * The size a shadow should have from its own observed use, or why it keeps its size. Only samples of this
 * size count: those of a warming workload (its start-up is no measure of its need), those from before its
 * last change (they measured another allocation) and those older than the window.
 */
export const decideUsageSize = (policy: UsageSizingPolicy, input: UsageSizingInput): UsageDecision => {
  const { bounds, current, nowMs, lastSizedAtMs } = input
  if (lastSizedAtMs !== undefined && nowMs - lastSizedAtMs < policy.coolDownMs) return { _tag: "Keep", why: "cooling down" }
  const since = Math.max(nowMs - policy.windowMs, lastSizedAtMs ?? -Infinity)
  const samples = input.samples.filter((sample) => !sample.warming && sample.atMs > since && sample.atMs <= nowMs)
  if (samples.length === 0) return { _tag: "Keep", why: "no use observed" }
  const times = samples.map((sample) => sample.atMs)
  const observedMs = Math.max(...times) - Math.min(...times)
  if (observedMs < policy.windowMs * coverage) return { _tag: "Keep", why: "not observed for a window yet" }
  const middle = (policy.growAbove + policy.shrinkBelow) / 2
  const target = { ...current }
  const seen: Array<string> = []
  for (const dimension of ["cpuMillis", "memoryMiB"] as const) {
    const use = p90(samples.map((sample) => sample[dimension]))
    const share = use / current[dimension]
    const { name, unit } = units[dimension]
    seen.push(`${name} p90 ${Math.round(use)}${unit} of ${current[dimension]}${unit}`)
    if (share <= policy.growAbove && share >= policy.shrinkBelow) continue
    const step = policy.step[dimension]
    const wanted = Math.ceil(use / middle / step) * step
    target[dimension] = Math.min(bounds.ceiling[dimension], Math.max(bounds.floor[dimension], wanted))
  }
  if (target.cpuMillis === current.cpuMillis && target.memoryMiB === current.memoryMiB) {
    return { _tag: "Keep", why: `within its band or its bounds: ${seen.join(", ")}` }
  }
  return { _tag: "Resize", resources: target, reason: `observed use: ${seen.join(", ")} over ${duration(policy.windowMs)}` }
}
