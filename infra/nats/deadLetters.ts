import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { headers, type MsgHdrs, type NatsConnection as CoreConnection } from "@nats-io/transport-node"
import { Cause, Effect, Schema } from "effect"
import { subjects } from "../../domain/subjects.ts"
import type { DeadLetter } from "../../src/deadLetters.ts"
import { BusUnavailable } from "../../src/eventBus.ts"
import { streamNames } from "./jetstreamSetup.ts"

/** What a consumer parks: the message as it came, where it came from, and why it could not be handled. */
export type Parcel = Omit<DeadLetter, "seq" | "parkedAt">

/** UMBRA_DLQ's headers; the body is the original message's bytes, unchanged. */
const header = {
  consumer: "Umbra-Dlq-Consumer",
  reason: "Umbra-Dlq-Reason",
  stream: "Umbra-Dlq-Stream",
  streamSeq: "Umbra-Dlq-Seq",
  subject: "Umbra-Dlq-Subject",
  deliveries: "Umbra-Dlq-Deliveries"
} as const

const LetterHeaders = Schema.Struct({
  consumer: Schema.NonEmptyString,
  reason: Schema.String,
  stream: Schema.NonEmptyString,
  streamSeq: Schema.FiniteFromString.check(Schema.isInt(), Schema.isGreaterThan(0)),
  subject: Schema.NonEmptyString,
  deliveries: Schema.FiniteFromString.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))
})
const decodeLetterHeaders = Schema.decodeUnknownEffect(LetterHeaders)

/** A reason fits one header line and a log line: control characters become spaces, and it is cut at 500. */
const headerSafe = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 500)

/**
 * Why a handler failed, for a person: the error's tag (or name) and message. Only the error is described,
 * never the message's body, which may carry what must not reach a log.
 */
export const reasonOf = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (typeof error === "object" && error !== null) {
    const { _tag, name, message } = error as { readonly _tag?: unknown; readonly name?: unknown; readonly message?: unknown }
    const tag = typeof _tag === "string" ? _tag : typeof name === "string" ? name : "Error"
    return headerSafe(typeof message === "string" && message !== "" ? `${tag}: ${message}` : tag)
  }
  return headerSafe(String(error))
}

const unavailable = (what: string) => (cause: unknown) =>
  new BusUnavailable({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

/**
 * Publishes a parcel to UMBRA_DLQ and succeeds only once JetStream stored it. Its `Nats-Msg-Id` names the
 * consumer and the original's place, so parking it again (after a crash before the original was settled)
 * stores nothing new.
 */
export const park = (nc: CoreConnection, parcel: Parcel) =>
  Effect.tryPromise({
    try: () => {
      const h = headers()
      h.set(header.consumer, parcel.consumer)
      h.set(header.reason, headerSafe(parcel.reason))
      h.set(header.stream, parcel.stream)
      h.set(header.streamSeq, String(parcel.streamSeq))
      h.set(header.subject, parcel.subject)
      h.set(header.deliveries, String(parcel.deliveries))
      return jetstream(nc).publish(subjects.deadLetter(parcel.consumer), parcel.data, {
        headers: h,
        msgID: `${parcel.consumer}/${parcel.stream}/${parcel.streamSeq}`
      })
    },
    catch: unavailable(`cannot park a dead letter of ${parcel.consumer} in ${streamNames.deadLetters}`)
  })

/** A message as UMBRA_DLQ keeps it, however it was read. */
interface StoredLetter {
  readonly seq: number
  readonly header: MsgHdrs | undefined
  readonly data: Uint8Array
  readonly parkedAt: Date
}

/** A stored UMBRA_DLQ message as a DeadLetter; its headers are decoded, never trusted. */
const decodeStored = (stored: StoredLetter) =>
  decodeLetterHeaders(Object.fromEntries(Object.entries(header).map(([field, name]) => [field, stored.header?.get(name)]))).pipe(
    Effect.map((fields): DeadLetter => ({ ...fields, seq: stored.seq, parkedAt: stored.parkedAt.toISOString(), data: stored.data })),
    Effect.mapError((error) => new BusUnavailable({ message: `UMBRA_DLQ message ${stored.seq} is not a dead letter: ${error.message}` }))
  )

/** The dead letter at `seq` in UMBRA_DLQ, or undefined when there is none there. */
export const readDeadLetter = (nc: CoreConnection, seq: number) =>
  Effect.tryPromise({
    try: async () => {
      const jsm = await jetstreamManager(nc)
      // A sequence that was never used, or was removed, is answered with an error by some servers.
      const stored = await jsm.streams.getMessage(streamNames.deadLetters, { seq }).catch(() => null)
      return stored === null ? undefined : { seq: stored.seq, header: stored.header, data: stored.data, parkedAt: stored.time }
    },
    catch: unavailable(`cannot read ${streamNames.deadLetters}`)
  }).pipe(Effect.flatMap((stored) => (stored === undefined ? Effect.undefined : decodeStored(stored))))

/** Up to `limit` dead letters of `consumer` (or of every consumer), oldest first. */
export const listDeadLetters = (nc: CoreConnection, consumer: string | "*", limit: number) =>
  Effect.tryPromise({
    try: async () => {
      const letters = await jetstream(nc).consumers.get(streamNames.deadLetters, { filter_subjects: subjects.deadLetter(consumer) })
      const { num_pending } = await letters.info(true)
      if (num_pending === 0) return []
      const stored: Array<StoredLetter> = []
      const batch = await letters.fetch({ max_messages: Math.min(num_pending, limit), expires: 5_000 })
      for await (const msg of batch) {
        stored.push({ seq: msg.seq, header: msg.headers, data: msg.data, parkedAt: new Date(Number(BigInt(msg.info.timestampNanos) / 1_000_000n)) })
      }
      return stored
    },
    catch: unavailable(`cannot list ${streamNames.deadLetters}`)
  }).pipe(Effect.flatMap((stored) => Effect.forEach(stored, decodeStored)))

/** Removes a dead letter from UMBRA_DLQ (once it was handled after all). */
export const removeDeadLetter = (nc: CoreConnection, seq: number) =>
  Effect.tryPromise({
    try: async () => (await jetstreamManager(nc)).streams.deleteMessage(streamNames.deadLetters, seq, false),
    catch: unavailable(`cannot remove dead letter ${seq} from ${streamNames.deadLetters}`)
  }).pipe(Effect.asVoid)

/** `umbra dlq retry` asks the process running the letter's consumer to handle it again: by its UMBRA_DLQ seq. */
export const RetryRequest = Schema.fromJsonString(Schema.Struct({ seq: Schema.Int.check(Schema.isGreaterThan(0)) }))
/** The answer: handled (and removed from UMBRA_DLQ), or why not (and kept). */
export const RetryReply = Schema.fromJsonString(
  Schema.Union([
    Schema.Struct({ ok: Schema.Literal(true) }),
    Schema.Struct({ ok: Schema.Literal(false), reason: Schema.String })
  ])
)
export type RetryReply = typeof RetryReply.Type

const text = new TextDecoder()

/** Asks whichever process runs the letter's consumer to handle it again, and waits for its answer. */
export const requestRetry = (nc: CoreConnection, letter: DeadLetter, timeoutMs: number) =>
  Effect.tryPromise({
    try: () => nc.request(subjects.deadLetterRetry(letter.consumer), Schema.encodeSync(RetryRequest)({ seq: letter.seq }), { timeout: timeoutMs }),
    catch: unavailable(`no running Umbra answered for consumer ${letter.consumer}`)
  }).pipe(
    Effect.flatMap((reply) => Schema.decodeUnknownEffect(RetryReply)(text.decode(reply.data))),
    Effect.mapError((error) => (error instanceof BusUnavailable ? error : new BusUnavailable({ message: `a retry reply that does not decode: ${error.message}` })))
  )
