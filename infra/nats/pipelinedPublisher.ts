import { PubHeaders } from "@nats-io/jetstream"
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node"
import { Effect, Result, Schema } from "effect"
import { BusUnavailable } from "../../src/eventBus.ts"

/** One message for a JetStream stream. */
export interface OutgoingMessage {
  readonly subject: string
  readonly data: Uint8Array
  readonly headers: MsgHdrs
}

export interface PipelineOptions {
  /** Most publishes awaiting their acknowledgement at any time. */
  readonly window: number
  /** Most payload bytes awaiting acknowledgement (events may be 2 MiB each); one message is always allowed. */
  readonly windowBytes: number
  /** Fails when no acknowledgement has arrived for this long while some are outstanding. */
  readonly ackTimeoutMs: number
}

export interface PipelineSummary {
  readonly stored: number
  readonly duplicates: number
  readonly maxOutstanding: number
}

/**
 * JetStream's answer to a publish: an API error, or a PubAck. The error comes first: a refusal carries
 * `stream` and `seq` too (`seq` 0), and read as a PubAck it would count a lost message as stored.
 */
const PubAckReply = Schema.Union([
  Schema.Struct({ error: Schema.Struct({ code: Schema.Number, err_code: Schema.optional(Schema.Number), description: Schema.String }) }),
  Schema.Struct({ stream: Schema.String, seq: Schema.Number, duplicate: Schema.optional(Schema.Boolean) })
])
const decodePubAckValue = Schema.decodeUnknownResult(PubAckReply)
// JSON.parse then decode costs half of Schema.fromJsonString per acknowledgement, on the publish hot path.
const decodePubAck = (text: string) => {
  try {
    return decodePubAckValue(JSON.parse(text))
  } catch (cause) {
    return Result.fail(new Error(`not JSON: ${String(cause)}`))
  }
}

/**
 * Publishes `messages` in order with core publishes whose replies all land on one inbox subscription,
 * keeping at most `window` unacknowledged. `js.publish` allocates a request, timer and error per
 * message and tops out near a third of this (FIELD-NOTES); the acknowledgements are still checked one by one.
 * Succeeds once every message is acknowledged (stored or a duplicate); fails on the first error reply,
 * on "no responders" (JetStream unavailable), or when acknowledgements stop for `ackTimeoutMs`.
 *
 * The messages are chained: each one after the first is stored only if the stream's last stored message
 * is the one before it (`Nats-Expected-Last-Msg-Id`, set on its headers; a duplicate is still answered as
 * one, since JetStream checks duplicates first). A refusal in the middle of the window then refuses every
 * later message as well, so the stream holds a prefix of `messages` and a retry from the first
 * unacknowledged one keeps their order. This needs a stream that only this sequence of publishes writes.
 */
export const publishPipelined = (
  nc: NatsConnection,
  messages: ReadonlyArray<OutgoingMessage>,
  options: PipelineOptions
): Effect.Effect<PipelineSummary, BusUnavailable> =>
  messages.length === 0
    ? Effect.succeed({ stored: 0, duplicates: 0, maxOutstanding: 0 })
    : Effect.callback<PipelineSummary, BusUnavailable>((resume) => {
      const inbox = createInbox()
      const total = messages.length
      const acked = new Uint8Array(total)
      let next = 0
      let outstanding = 0
      let outstandingBytes = 0
      let settled = 0
      let stored = 0
      let duplicates = 0
      let maxOutstanding = 0
      let lastProgress = Date.now()
      let finished = false

      const stop = () => {
        finished = true
        clearInterval(timer)
        sub.unsubscribe()
      }
      const fail = (message: string) => {
        if (finished) return
        stop()
        resume(Effect.fail(new BusUnavailable({ message: `JetStream publish failed after ${settled}/${total}: ${message}` })))
      }
      const pump = () => {
        try {
          while (outstanding < options.window && next < total) {
            const message = messages[next]!
            if (outstanding > 0 && outstandingBytes + message.data.length > options.windowBytes) break
            const previousId = next > 0 ? messages[next - 1]!.headers.get(PubHeaders.MsgIdHdr) : ""
            if (previousId !== "") message.headers.set(PubHeaders.ExpectedLastMsgIdHdr, previousId)
            nc.publish(message.subject, message.data, { reply: `${inbox}.${next}`, headers: message.headers })
            next++
            outstanding++
            outstandingBytes += message.data.length
          }
        } catch (cause) {
          return fail(String(cause))
        }
        if (outstanding > maxOutstanding) maxOutstanding = outstanding
      }
      const onAck = (error: Error | null, msg: Msg) => {
        if (finished) return
        if (error !== null) return fail(error.message)
        const index = Number(msg.subject.slice(inbox.length + 1))
        if (!(index >= 0 && index < next) || acked[index] === 1) return
        if (msg.headers?.hasError === true) return fail(`${msg.headers.code} ${msg.headers.description}`)
        const reply = decodePubAck(msg.string())
        if (Result.isFailure(reply)) return fail(`undecodable acknowledgement: ${reply.failure.message}`)
        if ("error" in reply.success) {
          const { code, err_code, description } = reply.success.error
          return fail(`${code}${err_code === undefined ? "" : `/${err_code}`} ${description}`)
        }
        acked[index] = 1
        outstanding--
        outstandingBytes -= messages[index]!.data.length
        settled++
        lastProgress = Date.now()
        if (reply.success.duplicate === true) duplicates++
        else stored++
        if (settled === total) {
          stop()
          return resume(Effect.succeed({ stored, duplicates, maxOutstanding }))
        }
        pump()
      }

      const sub = nc.subscribe(`${inbox}.*`, { callback: onAck })
      const timer = setInterval(() => {
        if (Date.now() - lastProgress > options.ackTimeoutMs) fail(`no acknowledgement for ${options.ackTimeoutMs} ms`)
      }, Math.min(250, options.ackTimeoutMs))
      pump()
      return Effect.sync(() => {
        if (!finished) stop()
      })
    })
