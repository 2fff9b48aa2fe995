import type { LatencySummary } from "../instance/heartbeatLatency.ts"

/** What production's traffic did during a step, as the router measured it. */
export interface StepWindow {
  readonly requests: number
  readonly errors: number
  readonly p99Ms: number
}

/** The health gates a step must keep to move on. */
export interface TrafficGates {
  /** Errors over requests, e.g. 0.01. */
  readonly maxErrorRate: number
  readonly maxP99Ms: number
  /** Fewer requests than this are too few to judge rate or latency by. */
  readonly minRequests: number
  /** The highest p99 of production's heartbeat round trips (its agent's measure of the network to the control plane). */
  readonly maxHeartbeatP99Ms: number
}

export const defaultTrafficGates: TrafficGates = { maxErrorRate: 0.01, maxP99Ms: 1_000, minRequests: 20, maxHeartbeatP99Ms: 1_000 }

/** Fewer round trips than this are too few to judge production's network by. */
export const minHeartbeatRoundTrips = 8

/**
 * Why production's heartbeat round trips break the gate, or undefined while they keep it. An agent that
 * measures none (one from before round trips were measured) is not judged by them.
 */
export const heartbeatLatencyBreach = (latency: LatencySummary | undefined, gates: TrafficGates): string | undefined =>
  latency !== undefined && latency.samples >= minHeartbeatRoundTrips && latency.p99Ms > gates.maxHeartbeatP99Ms
    ? `heartbeat round trip p99 ${latency.p99Ms} ms over ${latency.samples} heartbeats is above the gate of ${gates.maxHeartbeatP99Ms} ms`
    : undefined

/** Why the window breaks a gate, or undefined while it keeps them (or is still too small to tell). */
export const gateBreach = (window: StepWindow, gates: TrafficGates): string | undefined => {
  if (window.requests < gates.minRequests) return undefined
  const rate = window.errors / window.requests
  if (rate > gates.maxErrorRate) {
    return `error rate ${(rate * 100).toFixed(1)} % over ${window.requests} requests is above the gate of ${(gates.maxErrorRate * 100).toFixed(1)} %`
  }
  if (window.p99Ms > gates.maxP99Ms) return `p99 latency ${window.p99Ms} ms is above the gate of ${gates.maxP99Ms} ms`
  return undefined
}

/** The weights to go through after `current`, in order (the last step is always 100 %). */
export const remainingSteps = (current: number, steps: ReadonlyArray<number>): ReadonlyArray<number> => {
  const ordered = [...new Set([...steps.filter((weight) => weight > 0 && weight < 100), 100])].sort((a, b) => a - b)
  return ordered.filter((weight) => weight > current)
}
