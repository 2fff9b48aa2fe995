import { errors } from "@nats-io/transport-node"
import { Effect, Schema } from "effect"
import { NatsConnection } from "../nats/connection.ts"
import { BusError } from "./clientErrors.ts"

/** Why a request got no answer, as nats.js says it (a refusal by permissions, a timeout, nobody serving). */
export const busErrorOf = (subject: string) => (cause: unknown): BusError => {
  const found = cause instanceof Error && cause.cause instanceof Error ? [cause, cause.cause] : [cause]
  const message = `request ${subject}: ${cause instanceof Error ? cause.message : String(cause)}`
  const details = { subject }
  if (found.some((error) => error instanceof errors.PermissionViolationError)) return new BusError("NotPermitted", message, details)
  if (found.some((error) => error instanceof errors.TimeoutError)) return new BusError("Timeout", message, details)
  if (found.some((error) => error instanceof errors.NoRespondersError)) return new BusError("NoResponders", message, details)
  if (found.some((error) => error instanceof errors.ClosedConnectionError || error instanceof errors.DrainingConnectionError)) {
    return new BusError("Closed", message, details)
  }
  return new BusError("Unreachable", message, details)
}

/** A core request with a JSON body, its reply decoded with `reply`; a reply that does not decode is a BadReply. */
export const requestJson = <A>(subject: string, body: unknown, timeoutMs: number, reply: Schema.Codec<A, unknown>) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    const answer = yield* Effect.tryPromise({
      try: () => nc.request(subject, JSON.stringify(body), { timeout: timeoutMs }),
      catch: busErrorOf(subject)
    })
    return yield* Schema.decodeUnknownEffect(Schema.fromJsonString(reply))(answer.string()).pipe(
      Effect.mapError((error) => new BusError("BadReply", `the reply on ${subject} is not Umbra's: ${error.message}`, { subject }))
    )
  })
