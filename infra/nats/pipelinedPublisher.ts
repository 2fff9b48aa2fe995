import { PubHeaders } from "@nats-io/jetstream"
import { canonicalMIMEHeaderKey, createInbox, type Msg, MsgHdrsImpl, type NatsConnection } from "@nats-io/transport-node"
import { Effect } from "effect"
import { BusUnavailable } from "../../src/eventBus.ts"
import { readPubAck } from "./pubAck.ts"

/** One message for a JetStream stream. */
export interface OutgoingMessage {
  readonly subject: string
  readonly data: Uint8Array
  /** Its `Nats-Msg-Id`: JetStream stores a second message with the same id within its duplicate window as a duplicate. */
  readonly msgId?: string
  /** Headers besides the id and the chaining, which the publisher sets. */
  readonly headers?: ReadonlyArray<readonly [name: string, value: string]>
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

const lineBreak = /[\r\n]/

// Header names come from code, a handful of them: each is canonicalized once.
const canonicalNames = new Map<string, string>()
const canonicalName = (name: string) => {
  let canonical = canonicalNames.get(name)
  if (canonical === undefined) {
    canonical = canonicalMIMEHeaderKey(name)
    canonicalNames.set(name, canonical)
  }
  return canonical
}

/**
 * The messages of one publish, each made when its turn comes (so the first are in flight while the rest are
 * encoded); an array of them will do. `at` is asked once for each index, in order.
 */
export interface OutgoingMessages {
  readonly length: number
  readonly at: (index: number) => OutgoingMessage | undefined
}

/** Headers encoded with Buffer's UTF-8 encoder, about twice as fast as the TextEncoder the client uses. */
class PublishHeaders extends MsgHdrsImpl {
  override encode(): Uint8Array {
    return Buffer.from(this.toString(), "utf8")
  }
}

/**
 * A message's headers, written straight into a fresh set's map: the names are canonical already, and
 * `append`/`set` search the set's keys and re-canonicalize each name, which cost the relay a tenth of its
 * time. Values are checked as `append` would (no line breaks).
 */
const headersOf = (message: OutgoingMessage, previousId: string | undefined): MsgHdrsImpl => {
  const h = new PublishHeaders()
  const put = (name: string, value: string) => {
    if (lineBreak.test(value)) throw new Error(`the header ${name} has a line break`)
    h.headers.set(name, [value])
  }
  if (message.msgId !== undefined) put(PubHeaders.MsgIdHdr, message.msgId)
  if (previousId !== undefined) put(PubHeaders.ExpectedLastMsgIdHdr, previousId)
  for (const [name, value] of message.headers ?? []) put(canonicalName(name), value)
  return h
}

/**
 * Publishes `messages` in order with core publishes whose replies all land on one inbox subscription,
 * keeping at most `window` unacknowledged. `js.publish` allocates a request, timer and error per
 * message and tops out near a third of this (FIELD-NOTES); the acknowledgements are still checked one by one.
 * Succeeds once every message is acknowledged (stored or a duplicate); fails on the first error reply,
 * on "no responders" (JetStream unavailable), or when acknowledgements stop for `ackTimeoutMs`.
 *
 * The messages are chained: each one after the first is stored only if the stream's last stored message
 * is the one before it (`Nats-Expected-Last-Msg-Id`, from the `msgId` of the one before; a duplicate is still
 * answered as one, since JetStream checks duplicates first). A refusal in the middle of the window then refuses every
 * later message as well, so the stream holds a prefix of `messages` and a retry from the first
 * unacknowledged one keeps their order. This needs a stream that only this sequence of publishes writes.
 */
export const publishPipelined = (
  nc: NatsConnection,
  messages: OutgoingMessages,
  options: PipelineOptions
): Effect.Effect<PipelineSummary, BusUnavailable> =>
  messages.length === 0
    ? Effect.succeed({ stored: 0, duplicates: 0, maxOutstanding: 0 })
    : Effect.callback<PipelineSummary, BusUnavailable>((resume) => {
      const inbox = createInbox()
      const total = messages.length
      // Each refill is a socket write here and a read on the server: refilled an eighth of the window at a
      // time, both handle messages in groups instead of one per acknowledgement.
      const refillBelow = options.window - Math.max(1, Math.floor(options.window / 8))
      // Replies come on one of `slots` subjects, each taken again only once its message is answered: a
      // subject per message cost the server a fresh subject match (and cache entry) per acknowledgement.
      const slots = options.window * 2
      const replyTo = Array.from({ length: slots }, (_, slot) => `${inbox}.${slot}`)
      const awaitedOn = new Int32Array(slots).fill(-1)
      const sizes = new Uint32Array(total)
      let next = 0
      // Made but held back by the byte window.
      let waiting: OutgoingMessage | undefined
      let previousId: string | undefined
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
            const slot = next % slots
            // Taken only when acknowledgements come out of order.
            if (awaitedOn[slot] !== -1) break
            const message = waiting ?? messages.at(next)!
            waiting = undefined
            if (outstanding > 0 && outstandingBytes + message.data.length > options.windowBytes) {
              waiting = message
              break
            }
            nc.publish(message.subject, message.data, { reply: replyTo[slot]!, headers: headersOf(message, previousId) })
            awaitedOn[slot] = next
            previousId = message.msgId
            sizes[next] = message.data.length
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
        const slot = Number(msg.subject.slice(inbox.length + 1))
        const index = slot >= 0 && slot < slots ? awaitedOn[slot]! : -1
        if (index === -1) return
        if (msg.headers?.hasError === true) return fail(`${msg.headers.code} ${msg.headers.description}`)
        const reply = readPubAck(msg.string())
        if (reply._tag === "Undecodable") return fail(`undecodable acknowledgement: ${reply.reason}`)
        if (reply._tag === "Refused") return fail(reply.reason)
        awaitedOn[slot] = -1
        outstanding--
        outstandingBytes -= sizes[index]!
        settled++
        lastProgress = Date.now()
        if (reply.duplicate) duplicates++
        else stored++
        if (settled === total) {
          stop()
          return resume(Effect.succeed({ stored, duplicates, maxOutstanding }))
        }
        if (outstanding <= refillBelow) pump()
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
