import { performance } from "node:perf_hooks"
import type { NatsConnection } from "@nats-io/transport-node"
import { Effect, Schema, Stream } from "effect"
import { HeartbeatEcho } from "../../domain/signals.ts"

const decodeEcho = Schema.decodeUnknownResult(Schema.fromJsonString(HeartbeatEcho))

/** Heartbeats still waiting for their echo; an older one is given up (the control plane did not answer it). */
const waitingAtMost = 8

export interface HeartbeatRoundTrip {
  /** Marks heartbeat `seq` as sent now. */
  readonly sent: (seq: number) => Effect.Effect<void>
  /** The last round trip measured, in ms; undefined before the first echo, or once echoes stop coming. */
  readonly lastMs: Effect.Effect<number | undefined>
}

/**
 * Times each heartbeat from its publish to the control plane's echo of its `seq`, on this process's
 * monotonic clock alone (`performance.now()`): the two machines' clocks are never compared. The echo comes
 * on `umbra.ctl.<tenant>.<instanceId>.echo`, which only Umbra may publish to and which the agent may already
 * receive, so it needs no permission of its own. Listens until the scope closes.
 */
export const timeEchoes = Effect.fn("Agent.timeEchoes")(function* (nc: NatsConnection, subject: string) {
  const sentAt = new Map<number, number>()
  let lastMs: number | undefined

  const subscription = yield* Effect.acquireRelease(
    Effect.sync(() => nc.subscribe(subject)),
    (sub) => Effect.sync(() => sub.unsubscribe())
  )
  yield* Stream.fromAsyncIterable(subscription, (cause) => cause).pipe(
    Stream.runForEach((message) =>
      Effect.gen(function* () {
        const arrivedAt = performance.now()
        const echo = decodeEcho(message.string())
        if (echo._tag === "Failure") return yield* Effect.logWarning("heartbeat echo does not decode", { subject, message: echo.failure.message })
        const at = sentAt.get(echo.success.seq)
        // An echo of a heartbeat given up on, or of an earlier agent of this instance: nothing to time.
        if (at === undefined) return
        sentAt.delete(echo.success.seq)
        lastMs = Math.round((arrivedAt - at) * 100) / 100
      })
    ),
    Effect.ignore,
    Effect.forkScoped
  )

  return {
    sent: (seq) =>
      Effect.sync(() => {
        sentAt.set(seq, performance.now())
        for (const waiting of sentAt.keys()) {
          if (waiting > seq - waitingAtMost) break
          sentAt.delete(waiting)
          // Unanswered for that long: a round trip measured before says nothing about now.
          lastMs = undefined
        }
      }),
    lastMs: Effect.sync(() => lastMs)
  } satisfies HeartbeatRoundTrip
})
