import { appendBounded } from "../boundedWindow.ts"

/**
 * φ-accrual failure detection (Hayashibara et al.): from the recent heartbeat inter-arrival times, φ says how
 * unlikely the current silence is (φ = 8 means a 1e-8 chance the instance is merely late). A hard deadline,
 * shortened by a jitter so that many instances do not all expire on one tick, bounds detection when
 * arrivals were too regular or too few for the estimate to be trusted.
 */
export interface PhiAccrualConfig {
  /** φ at or above which an instance is declared silent. */
  readonly threshold: number
  /** The agent's heartbeat interval: the estimate before arrivals are known. */
  readonly expectedIntervalMs: number
  /** Inter-arrival times kept for the estimate. */
  readonly windowSize: number
  /** A floor for the standard deviation, so a perfectly regular sender is not declared dead on a hiccup. */
  readonly minStdDevMs: number
  /** A pause tolerated on top of the mean interval (a GC, a loaded host), as in Akka's detector. */
  readonly acceptablePauseMs: number
  /** Silence that is always a loss, in heartbeat intervals (the fallback when φ is slow to rise). */
  readonly deadlineIntervals: number
  /** The largest share of the deadline taken off by jitter (0..1). */
  readonly maxJitter: number
  /** Silence allowed before the first heartbeat (the agent is still starting). */
  readonly startupGraceMs: number
}

export const defaultPhiAccrualConfig: PhiAccrualConfig = {
  threshold: 8,
  expectedIntervalMs: 1_000,
  windowSize: 100,
  minStdDevMs: 100,
  acceptablePauseMs: 1_000,
  deadlineIntervals: 3,
  maxJitter: 0.1,
  startupGraceMs: 30_000
}

export interface ArrivalHistory {
  /** When watching began: the reference for the startup grace. */
  readonly sinceMs: number
  readonly lastArrivalMs: number | undefined
  readonly intervalsMs: ReadonlyArray<number>
}

export const startWatching = (nowMs: number): ArrivalHistory => ({ sinceMs: nowMs, lastArrivalMs: undefined, intervalsMs: [] })

export const recordArrival = (history: ArrivalHistory, nowMs: number, config: PhiAccrualConfig): ArrivalHistory => {
  if (history.lastArrivalMs === undefined) return { ...history, lastArrivalMs: nowMs }
  const interval = Math.max(0, nowMs - history.lastArrivalMs)
  return { ...history, lastArrivalMs: nowMs, intervalsMs: appendBounded(history.intervalsMs, interval, config.windowSize) }
}

const statistics = (history: ArrivalHistory, config: PhiAccrualConfig) => {
  const samples = history.intervalsMs.length === 0 ? [config.expectedIntervalMs] : history.intervalsMs
  const mean = samples.reduce((sum, x) => sum + x, 0) / samples.length
  const variance = samples.reduce((sum, x) => sum + (x - mean) ** 2, 0) / samples.length
  return { mean, stdDev: Math.max(config.minStdDevMs, Math.sqrt(variance)) }
}

/** φ of a silence of `elapsedMs`, with the logistic approximation of the normal CDF (as Akka and Cassandra use). */
export const phiOf = (elapsedMs: number, mean: number, stdDev: number): number => {
  const y = (elapsedMs - mean) / stdDev
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y))
  return elapsedMs > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e))
}

export type Liveness =
  | { readonly _tag: "Alive"; readonly phi: number }
  | { readonly _tag: "Silent"; readonly reason: "phi" | "deadline" | "never-heard" | "silent-while-warming"; readonly phi: number; readonly silentMs: number }

/**
 * The verdict on an instance whose last heartbeat said its workload is still warming up: lost only after a
 * silence as long as the startup grace. A warm-up may keep the instance's CPU quota so busy that its agent's
 * beats come seconds late; a late beat is progress, not death (a dead agent is still found, later).
 */
export const livenessWhileWarming = (history: ArrivalHistory, nowMs: number, config: PhiAccrualConfig): Liveness => {
  const silentMs = nowMs - (history.lastArrivalMs ?? history.sinceMs)
  return silentMs >= config.startupGraceMs ? { _tag: "Silent", reason: "silent-while-warming", phi: Infinity, silentMs } : { _tag: "Alive", phi: 0 }
}

/** The verdict at `nowMs`; `jitter` in [0, 1) picks how much of `maxJitter` comes off the deadline. */
export const liveness = (history: ArrivalHistory, nowMs: number, config: PhiAccrualConfig, jitter: number): Liveness => {
  if (history.lastArrivalMs === undefined) {
    const silentMs = nowMs - history.sinceMs
    return silentMs >= config.startupGraceMs ? { _tag: "Silent", reason: "never-heard", phi: Infinity, silentMs } : { _tag: "Alive", phi: 0 }
  }
  const silentMs = nowMs - history.lastArrivalMs
  const { mean, stdDev } = statistics(history, config)
  const phi = phiOf(silentMs, mean + config.acceptablePauseMs, stdDev)
  if (phi >= config.threshold) return { _tag: "Silent", reason: "phi", phi, silentMs }
  const deadline = config.deadlineIntervals * config.expectedIntervalMs * (1 - config.maxJitter * jitter)
  return silentMs >= deadline ? { _tag: "Silent", reason: "deadline", phi, silentMs } : { _tag: "Alive", phi }
}
