import { Effect, Schema, Stream } from "effect"
import { HeartbeatEcho } from "../../domain/signals.ts"
import { subjects } from "../../domain/subjects.ts"
import { decodeSignal } from "../../src/telemetry/signalDecoding.ts"
import { NatsConnection } from "./connection.ts"

const encodeEcho = Schema.encodeSync(Schema.fromJsonString(HeartbeatEcho))

/**
 * Answers every heartbeat at once with its `seq` on `umbra.ctl.<tenant>.<instanceId>.echo`, so that the agent
 * can time the round trip between its instance and the control plane. A core subscription in the queue
 * group `umbra` (one control plane answers), not a JetStream consumer: a backlog would only add its own
 * delay. The echo goes to the subject of the heartbeat's own instance, never to a reply subject the sender
 * chose, so a heartbeat cannot make Umbra publish anywhere else. Runs until the scope closes.
 */
export const answerHeartbeats = Effect.fn("HeartbeatEcho.answer")(function* () {
  const nc = yield* NatsConnection
  const subscription = yield* Effect.acquireRelease(
    Effect.sync(() => nc.subscribe(subjects.heartbeatsOf("*"), { queue: "umbra" })),
    (sub) => Effect.sync(() => sub.unsubscribe())
  )
  yield* Stream.fromAsyncIterable(subscription, (cause) => cause).pipe(
    Stream.runForEach((message) =>
      Effect.gen(function* () {
        // The watchdog counts and logs heartbeats that do not decode; here they are only not answered.
        const decoded = decodeSignal({ seq: 0, subject: message.subject, data: message.data })
        if (decoded?.kind !== "hb") return
        const { instanceId, seq } = decoded.heartbeat
        yield* Effect.try(() => nc.publish(subjects.heartbeatEcho(decoded.tenant, instanceId), encodeEcho({ seq }))).pipe(
          Effect.catch((cause) => Effect.logDebug("heartbeat echo not sent", { tenant: decoded.tenant, instanceId, error: String(cause) }))
        )
      })
    ),
    Effect.catch((cause) => Effect.logWarning("heartbeat echo stopped", { error: String(cause) })),
    Effect.forkScoped
  )
})
