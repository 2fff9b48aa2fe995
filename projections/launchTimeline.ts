import { fold } from "../domain/decider.ts"
import { launchDecider, type LaunchEvent, type LaunchStage, stageOf, weightOf } from "../domain/launch/launch.ts"

/** One stage a launch reached: when, how long after the request, and how long after the stage before. */
export interface StageTime {
  /** `queued`, `provisioning`, `provisioned`, `transferring`, `transferred`, `weight-<n>`, `completed`, `rolledBack`, `shadowReleased`, `productionRetired`. */
  readonly stage: string
  readonly at: string
  readonly sinceRequestMs: number
  readonly sincePreviousMs: number
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

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Folds a launch's events (with the time each was recorded) into its timeline; undefined before its request. */
export const launchTimeline = (events: ReadonlyArray<{ readonly at: string; readonly event: LaunchEvent }>): LaunchTimeline | undefined => {
  const first = events[0]
  if (first === undefined || first.event._tag !== "LaunchRequested") return undefined
  const requestedAt = Date.parse(first.at)
  const state = fold(launchDecider, events.map(({ event }) => event))
  const timeline: Mutable<LaunchTimeline> = {
    launchId: first.event.launchId,
    clientId: first.event.clientId,
    priority: first.event.priority,
    stage: stageOf(state),
    weight: weightOf(state),
    stages: []
  }
  const stages: Array<StageTime> = []
  let previous = requestedAt
  for (const { at, event } of events) {
    const time = Date.parse(at)
    stages.push({ stage: stageReachedBy(event), at, sinceRequestMs: time - requestedAt, sincePreviousMs: time - previous })
    previous = time
    if (event._tag === "ProvisioningStarted") {
      timeline.shadowInstanceId = event.shadowInstanceId
      timeline.productionInstanceId = event.productionInstanceId
    } else if (event._tag === "StateTransferCompleted") {
      timeline.transfer = { bytes: event.bytes, files: event.files, checksum: event.checksum, ms: event.ms }
    } else if (event._tag === "LaunchRolledBack") {
      timeline.rollback = { reason: event.reason, stage: event.stage }
    } else if (event._tag === "ShadowReleased") {
      timeline.shadowDisposition = event.disposition
    }
  }
  timeline.stages = stages
  return timeline
}
