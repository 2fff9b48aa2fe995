import { launchDecider, type LaunchEvent, type LaunchStage, type LaunchState, stageOf, type StepReading, weightOf } from "../domain/launch/launch.ts"

/** One stage a launch reached: when, how long after the request, and how long after the stage before. */
export interface StageTime {
  /** `queued`, `provisioning`, `provisioned`, `transferring`, `transferred`, `weight-<n>`, `completed`, `rolledBack`, `shadowReleased`, `productionRetired`. */
  readonly stage: string
  readonly at: string
  readonly sinceRequestMs: number
  readonly sincePreviousMs: number
  /** On a `weight-<n>` stage, the gate readings it passed with (recorded with the step after it). */
  readonly passed?: StepReading
}

/** A launch as the `Launch` query answers it. */
export interface LaunchTimeline {
  readonly launchId: string
  readonly clientId: string
  readonly priority: number
  readonly stage: LaunchStage
  readonly weight: number
  readonly shadowInstanceId?: string
  readonly productionInstanceId?: string
  readonly transfer?: { readonly bytes: number; readonly files: number; readonly checksum: string; readonly ms: number }
  readonly rollback?: { readonly reason: string; readonly stage: string }
  readonly shadowDisposition?: "recycled" | "terminated"
  readonly stages: ReadonlyArray<StageTime>
}

/** How a launch ended, or that it has not yet. */
export const launchOutcomes = ["underWay", "completed", "rolledBack"] as const
export type LaunchOutcome = (typeof launchOutcomes)[number]

/** A completed launch stays completed when its shadow is released or its production retired with the client. */
export const outcomeOf = (stage: LaunchStage): LaunchOutcome =>
  stage === "rolledBack" ? "rolledBack" : stage === "completed" || stage === "released" || stage === "retired" ? "completed" : "underWay"

/** A timeline with the launch's decider state beside it: the next event's stage and weight come from evolving it. */
export interface LaunchTimelineFold {
  readonly timeline: LaunchTimeline
  readonly state: LaunchState
}

const stageReachedBy = (event: LaunchEvent): string => {
  switch (event._tag) {
    case "LaunchRequested":
      return "queued"
    case "ProvisioningStarted":
      return "provisioning"
    case "ProductionProvisioned":
      return "provisioned"
    case "StateTransferStarted":
      return "transferring"
    case "StateTransferCompleted":
      return "transferred"
    case "TrafficShifted":
      return `weight-${event.weight}`
    case "LaunchCompleted":
      return "completed"
    case "LaunchRolledBack":
      return "rolledBack"
    case "ShadowReleased":
      return "shadowReleased"
    case "ProductionRetired":
      return "productionRetired"
  }
}

/** What an event adds to the timeline besides its stage. */
const detailsOf = (event: LaunchEvent): Partial<LaunchTimeline> => {
  switch (event._tag) {
    case "ProvisioningStarted":
      return { shadowInstanceId: event.shadowInstanceId, productionInstanceId: event.productionInstanceId }
    case "StateTransferCompleted":
      return { transfer: { bytes: event.bytes, files: event.files, checksum: event.checksum, ms: event.ms } }
    case "LaunchRolledBack":
      return { rollback: { reason: event.reason, stage: event.stage } }
    case "ShadowReleased":
      return { shadowDisposition: event.disposition }
    default:
      return {}
  }
}

/** The step a passed reading belongs to: the one a shift left, or 100 % for the completion. */
const passedStepOf = (event: LaunchEvent): { readonly stage: string; readonly passed: StepReading } | undefined => {
  if (event._tag === "TrafficShifted" && event.passed !== undefined) return { stage: `weight-${event.previous}`, passed: event.passed }
  if (event._tag === "LaunchCompleted" && event.passed !== undefined) return { stage: "weight-100", passed: event.passed }
  return undefined
}

const withPassed = (stages: ReadonlyArray<StageTime>, event: LaunchEvent): ReadonlyArray<StageTime> => {
  const step = passedStepOf(event)
  return step === undefined ? stages : stages.map((stage) => (stage.stage === step.stage ? { ...stage, passed: step.passed } : stage))
}

/**
 * Folds one more event of a launch (with the time it was recorded) into its timeline; undefined until its
 * request, since a launch starts there.
 */
export const foldLaunchTimeline = (current: LaunchTimelineFold | undefined, event: LaunchEvent, at: string): LaunchTimelineFold | undefined => {
  const time = Date.parse(at)
  if (current === undefined) {
    if (event._tag !== "LaunchRequested") return undefined
    const state = launchDecider.evolve(launchDecider.initialState, event)
    const timeline: LaunchTimeline = {
      launchId: event.launchId,
      clientId: event.clientId,
      priority: event.priority,
      stage: stageOf(state),
      weight: weightOf(state),
      stages: [{ stage: stageReachedBy(event), at, sinceRequestMs: 0, sincePreviousMs: 0 }]
    }
    return { timeline, state }
  }
  const { timeline } = current
  const requestedAt = Date.parse(timeline.stages[0]!.at)
  const previous = Date.parse(timeline.stages[timeline.stages.length - 1]!.at)
  const state = launchDecider.evolve(current.state, event)
  return {
    state,
    timeline: {
      ...timeline,
      ...detailsOf(event),
      stage: stageOf(state),
      weight: weightOf(state),
      stages: [...withPassed(timeline.stages, event), { stage: stageReachedBy(event), at, sinceRequestMs: time - requestedAt, sincePreviousMs: time - previous }]
    }
  }
}

/** A launch's whole stream folded into its timeline; undefined when it does not start with its request. */
export const launchTimeline = (events: ReadonlyArray<{ readonly at: string; readonly event: LaunchEvent }>): LaunchTimeline | undefined =>
  events.reduce<LaunchTimelineFold | undefined>((fold, { at, event }) => foldLaunchTimeline(fold, event, at), undefined)?.timeline
