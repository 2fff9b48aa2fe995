import { Clock, Effect, Ref } from "effect"
import { recordRtt } from "../../domain/instance/heartbeatLatency.ts"
import { subjects } from "../../domain/subjects.ts"
import { followLiveSignals } from "../telemetry/liveSignals.ts"
import { decodeSignal } from "../telemetry/signalDecoding.ts"

/** The last heartbeat of one instance, by this process's clock, and the round trips its agent measured. */
export interface LastBeat {
  readonly atMs: number | undefined
  readonly ready: boolean
  /** Newest last; the agent's own measure, so no clock of this process is compared with the instance's. */
  readonly rttMs: ReadonlyArray<number>
}

/**
 * Follows one instance's heartbeats for as long as the scope lasts and returns a reading of the last one:
 * a launch judges its production by it (ready to take traffic, still beating, and its network's round trips).
 */
export const watchHeartbeats = Effect.fn("Launch.watchHeartbeats")(function* (tenant: string, instanceId: string) {
  const last = yield* Ref.make<LastBeat>({ atMs: undefined, ready: false, rttMs: [] })
  // A missed beat or two while NATS restarts only ages the reading.
  yield* followLiveSignals(subjects.signal(tenant, instanceId, "hb"), "the production heartbeat watch", (signal) =>
    Effect.gen(function* () {
      const decoded = decodeSignal(signal)
      if (decoded?.kind !== "hb") return
      const atMs = yield* Clock.currentTimeMillis
      const { ready, rttMs } = decoded.heartbeat
      yield* Ref.update(last, (before) => ({ atMs, ready, rttMs: rttMs === undefined ? before.rttMs : recordRtt(before.rttMs, rttMs) }))
    })
  )
  return Ref.get(last)
})
