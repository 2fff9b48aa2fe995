import { Effect, Fiber, Ref, Semaphore } from "effect"

/** Ready when the workload's URL answers 2xx within the timeout; no URL means ready once started. */
export const probeReady = (url: URL | undefined, timeoutMs = 800): Effect.Effect<boolean> =>
  url === undefined
    ? Effect.succeed(true)
    : Effect.tryPromise(async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
      await response.body?.cancel()
      return response.ok
    }).pipe(Effect.orElseSucceed(() => false))

/** What heartbeats say of the workload. */
export interface WorkloadReadiness {
  readonly ready: boolean
  /** Not ready yet since it started: its warm-up, which the watchdog may wait out. */
  readonly warming: boolean
}

const starting: WorkloadReadiness = { ready: false, warming: true }

/** Warming ends at the first ready answer: a workload that was ready and stops answering is not warming, it is failing. */
export const afterProbe = (state: WorkloadReadiness, ready: boolean): WorkloadReadiness => ({ ready, warming: state.warming && !ready })

/** When the workload is probed. */
export interface ProbeSchedule {
  /** Between probes, once the workload was ready or has used up its warming probes. */
  readonly everyMs: number
  /** Between probes while the workload warms: how late a workload that turns ready is seen. */
  readonly warmingEveryMs: number
  /** How many warming probes each start of the workload gets, so that a long warm-up is not probed fast throughout. */
  readonly warmingProbes: number
}

/** How long after each start of the workload it is probed fast, at most. */
const warmingWindowMs = 10_000

/**
 * The agent's schedule: every heartbeat interval, and every 100 ms for the first 10 s of a warm-up. A
 * restarted workload of a claimed pooled shadow is ready well within a second; probed once a heartbeat
 * interval, it would be seen up to that interval later. A probe of a warming workload costs little: a
 * loopback connection refused, a 503, or a request waiting on a busy event loop (probes never overlap).
 */
export const probeSchedule = (heartbeatMs: number): ProbeSchedule => {
  const warmingEveryMs = Math.min(100, heartbeatMs)
  return { everyMs: heartbeatMs, warmingEveryMs, warmingProbes: Math.ceil(warmingWindowMs / warmingEveryMs) }
}

export interface ReadinessTracker {
  /** What the last probe found. */
  readonly current: Effect.Effect<WorkloadReadiness>
  /** Replaces the workload: not ready from now until a probe of the new one says so; its warming probes start afresh. */
  readonly restarting: <A, E>(replace: Effect.Effect<A, E>) => Effect.Effect<A, E>
}

/**
 * Probes the workload on `schedule`, apart from the heartbeats, which say what the last probe found: a beat
 * never waits for the workload's answer, which a warm-up holding the workload's event loop delays by the
 * probe's whole timeout. The first probe is awaited, so the first beat already knows; `turnedReady` runs when a
 * later probe finds the workload ready after it was not. Runs in the current scope.
 */
export const trackReadiness = Effect.fn("Agent.trackReadiness")(function* (
  probe: Effect.Effect<boolean>,
  schedule: ProbeSchedule,
  turnedReady: Effect.Effect<void> = Effect.void
) {
  const scope = yield* Effect.scope
  const state = yield* Ref.make(afterProbe(starting, yield* probe))
  // No probe of the workload being replaced may land once it is: the replacement holds the probes' turn.
  const turn = yield* Semaphore.make(1)
  const probeOnce = probe.pipe(
    Effect.flatMap((ready) => Ref.modify(state, (before) => [ready && !before.ready, afterProbe(before, ready)] as const)),
    Effect.flatMap((turned) => (turned ? turnedReady : Effect.void))
  )
  // One run of the schedule per start of the workload.
  const probing = Effect.gen(function* () {
    let warmingLeft = schedule.warmingProbes
    while (true) {
      const fast = (yield* Ref.get(state)).warming && warmingLeft > 0
      if (fast) warmingLeft--
      yield* Effect.sleep(fast ? schedule.warmingEveryMs : schedule.everyMs)
      yield* turn.withPermit(probeOnce)
    }
  })
  const probes = yield* Ref.make(yield* Effect.forkIn(probing, scope))
  return {
    current: Ref.get(state),
    restarting: (replace) =>
      turn.withPermit(
        Ref.set(state, starting).pipe(
          // The run waiting out a heartbeat interval gives way to one probing the new workload from its start.
          Effect.andThen(Ref.get(probes).pipe(Effect.flatMap(Fiber.interrupt))),
          Effect.andThen(replace),
          Effect.ensuring(Effect.forkIn(probing, scope).pipe(Effect.flatMap((fiber) => Ref.set(probes, fiber))))
        )
      )
  } satisfies ReadinessTracker
})
