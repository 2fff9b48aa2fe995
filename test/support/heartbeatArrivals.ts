import type { NatsConnection as CoreConnection } from "@nats-io/transport-node"
import { Effect, Ref, Schema, Stream } from "effect"
import { Heartbeat } from "../../domain/signals.ts"
import { subjects } from "../../domain/subjects.ts"

export interface Arrival {
  /** When the heartbeat arrived here, by this process's monotonic clock. */
  readonly arrivedMs: number
  readonly heartbeat: Heartbeat
}

const decodeHeartbeat = Schema.decodeUnknownEffect(Schema.fromJsonString(Heartbeat))

/** Every heartbeat of the tenant's instances for the scope, decoded, with when it arrived. */
export const followHeartbeats = (nc: CoreConnection, tenant: string) =>
  Effect.gen(function* () {
    const arrivals = yield* Ref.make<ReadonlyArray<Arrival>>([])
    const sub = yield* Effect.acquireRelease(
      Effect.sync(() => nc.subscribe(subjects.heartbeatsOf(tenant))),
      (sub) => Effect.sync(() => sub.unsubscribe())
    )
    yield* Stream.fromAsyncIterable(sub, (cause) => cause).pipe(
      Stream.mapEffect((msg) => decodeHeartbeat(msg.string()).pipe(Effect.map((heartbeat) => ({ arrivedMs: performance.now(), heartbeat })))),
      Stream.runForEach((arrival) => Ref.update(arrivals, (all) => [...all, arrival])),
      Effect.orDie,
      Effect.forkScoped
    )
    return Ref.get(arrivals)
  })

/** The silences between consecutive heartbeats as they arrived here, in ms, the longest first. */
export const heartbeatGaps = (arrivals: ReadonlyArray<Arrival>): ReadonlyArray<number> =>
  arrivals.slice(1).map((arrival, index) => Math.round(arrival.arrivedMs - arrivals[index]!.arrivedMs)).sort((a, b) => b - a)

/**
 * The silences between consecutive heartbeats as the agent sent them (their `at`, by the host's clock that
 * every container shares), in ms, the longest first: what the agent did, without this process's own pauses.
 */
export const sendingGaps = (arrivals: ReadonlyArray<Arrival>): ReadonlyArray<number> => {
  const sent = arrivals.map((arrival) => Date.parse(arrival.heartbeat.at)).sort((a, b) => a - b)
  return sent.slice(1).map((at, index) => at - sent[index]!).sort((a, b) => b - a)
}
