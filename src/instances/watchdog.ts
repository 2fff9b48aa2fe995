import { Clock, Effect, Random, Ref, Schedule } from "effect"
import {
  type ArrivalHistory,
  liveness,
  livenessWhileWarming,
  type PhiAccrualConfig,
  recordArrival,
  startWatching
} from "../../domain/instance/phiAccrual.ts"
import { latencyRise, type LatencySummary, recordRtt, summarizeLatency } from "../../domain/instance/heartbeatLatency.ts"
import { subjects } from "../../domain/subjects.ts"
import type { InstanceId } from "../../domain/ids.ts"
import { causedBy, issueCommand } from "../commands/issueCommand.ts"
import { CommandHandler } from "../commands/commandHandler.ts"
import type { DeliveredSignal } from "../eventBus.ts"
import { followLiveSignals } from "../telemetry/liveSignals.ts"
import { decodeSignal } from "../telemetry/signalDecoding.ts"

export interface WatchdogOptions {
  readonly phi: PhiAccrualConfig
  /** How often every watched instance is judged. */
  readonly checkEveryMs: number
}

interface Watched {
  readonly tenant: string
  readonly instanceId: InstanceId
  /** The event that started this run of the instance: it keys the commands the watchdog sends for it. */
  readonly epoch: string
  readonly jitter: number
  history: ArrivalHistory
  ready: boolean
  /** As its last heartbeat said: a warming instance is judged by a longer silence. */
  warming: boolean
  readonly readyFromSeq: number
  /** The heartbeat round trips its agent measured, newest last. */
  rttMs: ReadonlyArray<number>
  /** Whether a rise in those round trips has been logged and counted, and not yet passed. */
  rising: boolean
}

export interface WatchedInstance {
  readonly tenant: string
  readonly instanceId: InstanceId
  readonly epoch: string
  readonly ready: boolean
  /** The first heartbeat whose readiness counts (a claimed shadow's earlier ones speak for its last client's workload). */
  readonly readyFromSeq?: number
  /** Its agent said its workload is ready (a pooled shadow's, claimed): marked ready now, not at the next heartbeat. */
  readonly readyNow?: boolean
}

export interface WatchedLatency extends WatchedInstance {
  /** Last, p50 and p99 of the heartbeat round trips its agent measured; absent from an agent that does not. */
  readonly latency?: LatencySummary
}

export interface Watchdog {
  /** Starts (or restarts, for a new epoch) watching an instance that should be running. */
  readonly watch: (instance: WatchedInstance) => Effect.Effect<void>
  readonly unwatch: (tenant: string, instanceId: string) => Effect.Effect<void>
  readonly watched: Effect.Effect<ReadonlyArray<WatchedLatency>>
  /** Signals that failed their schema since the start: counted and dropped, never fatal. */
  readonly badSignals: Effect.Effect<number>
  /** Sustained rises of an instance's heartbeat round trips since the start, each counted once. */
  readonly latencyRises: Effect.Effect<number>
}

const keyOf = (tenant: string, instanceId: string) => `${tenant}/${instanceId}`

/**
 * Liveness of running instances (shadows, and production once its launch completed) from their heartbeats on UMBRA_SIGNALS: the first ready heartbeat marks the
 * instance ready; a silence judged by φ-accrual (or the deadline) appends HeartbeatLost, which the
 * instance runner answers by recreating the instance. Runs in the current scope.
 */
export const makeWatchdog = Effect.fn("Watchdog.make")(function* (options: WatchdogOptions) {
  const entries = new Map<string, Watched>()
  const bad = yield* Ref.make(0)
  const rises = yield* Ref.make(0)
  /**
   * When any valid heartbeat last arrived. All going quiet at once points at the signal path (NATS), not at
   * every shadow: judging pauses, for at most the startup grace, after which all of them did die (an engine restart).
   */
  let lastSignalMs = yield* Clock.currentTimeMillis
  // Its callers watch from their own fibers: a command it issues for them goes through the handler it was made with.
  const handler = yield* CommandHandler

  const watch = (instance: WatchedInstance) =>
    Effect.gen(function* () {
      const key = keyOf(instance.tenant, instance.instanceId)
      if (entries.get(key)?.epoch === instance.epoch) return
      const now = yield* Clock.currentTimeMillis
      const jitter = yield* Random.next
      const { readyNow, ...watched } = instance
      const entry: Watched = { ...watched, readyFromSeq: instance.readyFromSeq ?? 0, jitter, history: startWatching(now), rttMs: [], rising: false, warming: false }
      entries.set(key, entry)
      if (readyNow === true && !entry.ready) {
        entry.ready = true
        yield* markReady(entry).pipe(Effect.provideService(CommandHandler, handler))
      }
    })

  const unwatch = (tenant: string, instanceId: string) => Effect.sync(() => void entries.delete(keyOf(tenant, instanceId)))

  const markReady = (entry: Watched) =>
    issueCommand(entry.tenant, causedBy(`ready/${entry.epoch}`, entry.epoch), { _tag: "MarkInstanceReady", instanceId: entry.instanceId }).pipe(
      Effect.tap(() => Effect.logInfo("instance ready", { instanceId: entry.instanceId })),
      Effect.catch((error) =>
        // Refused means the instance moved on; anything else is tried again on the next heartbeat.
        error._tag === "IllegalState"
          ? Effect.logDebug("ready refused", { instanceId: entry.instanceId, message: error.message })
          : Effect.sync(() => (entry.ready = false)).pipe(Effect.andThen(Effect.logWarning("cannot mark ready", { message: error.message })))
      )
    )

  const dropBad = (subject: string) =>
    Ref.updateAndGet(bad, (n) => n + 1).pipe(
      Effect.flatMap((count) => Effect.logWarning("dropped a heartbeat that does not decode", { subject, dropped: count }))
    )

  /** Keeps the round trip; a sustained rise is logged and counted once, until it passes. */
  const recordLatency = (entry: Watched, rttMs: number) =>
    Effect.gen(function* () {
      entry.rttMs = recordRtt(entry.rttMs, rttMs)
      const rise = latencyRise(entry.rttMs)
      const wasRising = entry.rising
      entry.rising = rise !== undefined
      if (rise === undefined || wasRising) return
      const count = yield* Ref.updateAndGet(rises, (n) => n + 1)
      yield* Effect.logWarning("heartbeat round trips rose", {
        tenant: entry.tenant,
        instanceId: entry.instanceId,
        recentP50Ms: rise.recentP50Ms,
        earlierP50Ms: rise.earlierP50Ms,
        rises: count
      })
    })

  const onSignal = (signal: DeliveredSignal) =>
    Effect.gen(function* () {
      const decoded = decodeSignal(signal)
      if (decoded === undefined || decoded.kind !== "hb") return yield* dropBad(signal.subject)
      lastSignalMs = yield* Clock.currentTimeMillis
      const entry = entries.get(keyOf(decoded.tenant, decoded.heartbeat.instanceId))
      if (entry === undefined) return
      entry.history = recordArrival(entry.history, yield* Clock.currentTimeMillis, options.phi)
      // An agent from before `warming` does not say: its workload is judged as warm.
      entry.warming = decoded.heartbeat.warming === true && !decoded.heartbeat.ready
      if (decoded.heartbeat.rttMs !== undefined) yield* recordLatency(entry, decoded.heartbeat.rttMs)
      if (decoded.heartbeat.ready && !entry.ready && decoded.heartbeat.seq >= entry.readyFromSeq) {
        entry.ready = true
        yield* markReady(entry)
      }
    })

  const signalPathDown = (now: number) => {
    const quietMs = now - lastSignalMs
    return entries.size > 1 && quietMs > options.phi.deadlineIntervals * options.phi.expectedIntervalMs && quietMs < options.phi.startupGraceMs
  }

  const judge = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    // Recreating every shadow because NATS was unreachable would be the outage's worst consequence.
    if (signalPathDown(now)) return yield* Effect.logDebug("no heartbeat from any shadow; judging paused")
    for (const [key, entry] of [...entries]) {
      const verdict = entry.warming ? livenessWhileWarming(entry.history, now, options.phi) : liveness(entry.history, now, options.phi, entry.jitter)
      if (verdict._tag === "Alive") continue
      entries.delete(key)
      const reason = `silent for ${verdict.silentMs} ms (${verdict.reason})`
      yield* Effect.logWarning("instance heartbeat lost", { instanceId: entry.instanceId, reason })
      yield* issueCommand(entry.tenant, causedBy(`lost/${entry.epoch}`, entry.epoch), { _tag: "MarkHeartbeatLost", instanceId: entry.instanceId, reason }).pipe(
        Effect.catch((error) =>
          error._tag === "IllegalState" || error._tag === "NotFound"
            ? Effect.logDebug("heartbeat lost refused", { instanceId: entry.instanceId, message: error.message })
            // The store is unreachable: keep the instance under watch so the next round sends it again.
            : Effect.sync(() => entries.set(key, entry)).pipe(Effect.andThen(Effect.logWarning("cannot record heartbeat lost", { message: error.message })))
        )
      )
    }
  })

  // Beats missed while NATS restarts only raise φ a little.
  yield* followLiveSignals(subjects.heartbeatsOf("*"), "watchdog", onSignal)
  yield* judge.pipe(Effect.repeat(Schedule.spaced(options.checkEveryMs)), Effect.forkScoped)

  return {
    watch,
    unwatch,
    watched: Effect.sync(() =>
      [...entries.values()].map(({ tenant, instanceId, epoch, ready, rttMs }) => {
        const latency = summarizeLatency(rttMs)
        return { tenant, instanceId, epoch, ready, ...(latency === undefined ? {} : { latency }) }
      })
    ),
    badSignals: Ref.get(bad),
    latencyRises: Ref.get(rises)
  } satisfies Watchdog
})
