import type { Resources } from "../profile/resources.ts"

/** What the predictive scaling engine sizes: CPU and memory (storage stays as the tier set it). */
export type Requirement = Pick<Resources, "cpuMillis" | "memoryMiB">

export interface ScalingPolicy {
  /** A requirement within ±band of the current expectation changes nothing (no resize churn). */
  readonly band: number
  /** In fallback, the recent peak plus this share covers the client. */
  readonly conservativeMargin: number
  /** Scored steps before the model's record counts against it. */
  readonly minScoredSteps: number
  /** The model is judged on its newest scored steps only: a young model's prior-bound start is not held against it. */
  readonly judgeSteps: number
  /** How much worse than the last value the model may be (relative to that error, and to the mean demand) before it is dropped. */
  readonly tolerance: number
}

export const defaultScalingPolicy: ScalingPolicy = {
  band: 0.15,
  conservativeMargin: 0.25,
  minScoredSteps: 12,
  judgeSteps: 24,
  tolerance: 0.05
}

const mib = 1024 * 1024

/** The requirement from provisioning bounds: cores in use and memory bytes. */
export const requirementFrom = (cpuCores: number, memBytes: number): Requirement => ({
  cpuMillis: Math.max(1, Math.ceil(cpuCores * 1000)),
  memoryMiB: Math.max(1, Math.ceil(memBytes / mib))
})

/** The model lost to the last value, by more than the tolerance, over enough recent steps: do not let it size the client. */
export const shouldFallBack = (
  quality: { readonly modelError: number; readonly lastValueError: number; readonly meanDemand: number; readonly scoredSteps: number },
  policy: ScalingPolicy
): boolean =>
  quality.scoredSteps >= policy.minScoredSteps &&
  quality.modelError > quality.lastValueError * (1 + policy.tolerance) + quality.meanDemand * policy.tolerance

/** The conservative requirement: the recent peak with a margin, never below what the profile expects now. */
export const conservativeRequirement = (current: Requirement, recentPeak: Requirement, policy: ScalingPolicy): Requirement => ({
  cpuMillis: Math.max(current.cpuMillis, Math.ceil(recentPeak.cpuMillis * (1 + policy.conservativeMargin))),
  memoryMiB: Math.max(current.memoryMiB, Math.ceil(recentPeak.memoryMiB * (1 + policy.conservativeMargin)))
})

/** The fields a RefineProfile should change: those whose requirement left the band around the current value. */
export const refinement = (current: Requirement, required: Requirement, policy: ScalingPolicy): Partial<Requirement> | undefined => {
  const outside = (now: number, next: number) => Math.abs(next - now) > policy.band * now
  const changed: { cpuMillis?: number; memoryMiB?: number } = {}
  if (outside(current.cpuMillis, required.cpuMillis)) changed.cpuMillis = required.cpuMillis
  if (outside(current.memoryMiB, required.memoryMiB)) changed.memoryMiB = required.memoryMiB
  return Object.keys(changed).length === 0 ? undefined : changed
}
