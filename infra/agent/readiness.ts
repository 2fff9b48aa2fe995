import { Effect, Ref, Semaphore } from "effect"

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

export interface ReadinessTracker {
  /** What the last probe found. */
  readonly current: Effect.Effect<WorkloadReadiness>
  /** Replaces the workload: not ready from now until a probe of the new one says so. */
  readonly restarting: <A, E>(replace: Effect.Effect<A, E>) => Effect.Effect<A, E>
}

/**
 * Probes the workload every `everyMs`, apart from the heartbeats, which say what the last probe found: a beat
 * never waits for the workload's answer, which a warm-up holding the workload's event loop delays by the
 * probe's whole timeout. The first probe is awaited, so the first beat already knows; `turnedReady` runs when a
 * later probe finds the workload ready after it was not. Runs in the current scope.
 */
export const trackReadiness = Effect.fn("Agent.trackReadiness")(function* (
  probe: Effect.Effect<boolean>,
  everyMs: number,
  turnedReady: Effect.Effect<void> = Effect.void
) {
  const state = yield* Ref.make(afterProbe(starting, yield* probe))
  // No probe of the workload being replaced may land once it is: the replacement holds the probes' turn.
  const turn = yield* Semaphore.make(1)
  const probeOnce = probe.pipe(
    Effect.flatMap((ready) => Ref.modify(state, (before) => [ready && !before.ready, afterProbe(before, ready)] as const)),
    Effect.flatMap((turned) => (turned ? turnedReady : Effect.void))
  )
  yield* turn.withPermit(probeOnce).pipe(
    Effect.delay(everyMs),
    Effect.forever,
    Effect.forkScoped
  )
  return {
    current: Ref.get(state),
    restarting: (replace) => turn.withPermit(Ref.set(state, starting).pipe(Effect.andThen(replace)))
  } satisfies ReadinessTracker
})
