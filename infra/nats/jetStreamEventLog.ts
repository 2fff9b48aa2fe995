import { DeliverPolicy, jetstream, type JsMsg } from "@nats-io/jetstream"
import { Effect, Schema, Stream } from "effect"
import { StoredEvent } from "../../domain/envelope.ts"
import { subjects } from "../../domain/subjects.ts"
import { BusUnavailable } from "../../src/eventBus.ts"
import { logPageSize } from "../../src/replay/logPages.ts"
import { NatsConnection } from "./connection.ts"
import { streamNames } from "./jetstreamSetup.ts"

const decodeEnvelope = Schema.decodeUnknownEffect(Schema.fromJsonString(StoredEvent))

const unavailable = (what: string) => (cause: unknown) =>
  new BusUnavailable({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

/**
 * UMBRA_EVENTS as the relay published it, from its first message to the last one there when the read
 * starts (an ordered consumer, which JetStream tells how many messages are pending), as pages of envelopes
 * for `replayReadModels`. `total` is the messages there were to read. A message that is not an envelope is
 * logged and left out, as every reader of UMBRA_EVENTS does.
 */
export const jetStreamEventLog = (filterSubject: string = subjects.eventsRoot) =>
  Effect.gen(function* () {
    const nc = yield* NatsConnection
    const consumer = yield* Effect.tryPromise({
      try: () => jetstream(nc).consumers.get(streamNames.events, { filter_subjects: filterSubject, deliver_policy: DeliverPolicy.All }),
      catch: unavailable(`cannot read ${streamNames.events}`)
    })
    const total = (yield* Effect.tryPromise({ try: () => consumer.info(), catch: unavailable(`cannot read ${streamNames.events}`) })).num_pending
    const messages = total === 0
      ? Stream.empty
      : Stream.unwrap(
          Effect.acquireRelease(
            Effect.tryPromise({ try: () => consumer.consume({ max_messages: logPageSize }), catch: unavailable(`cannot read ${streamNames.events}`) }),
            (consuming) => Effect.tryPromise(() => consuming.close()).pipe(Effect.ignore)
          ).pipe(Effect.map((consuming) => Stream.fromAsyncIterable<JsMsg, BusUnavailable>(consuming, unavailable(`reading ${streamNames.events}`))))
        ).pipe(Stream.takeUntil((msg) => msg.info.pending === 0))
    const pages = messages.pipe(
      Stream.mapEffect((msg) =>
        decodeEnvelope(msg.string()).pipe(
          Effect.map((event): ReadonlyArray<StoredEvent> => [event]),
          Effect.catch((error) =>
            Effect.logWarning("left out a message of UMBRA_EVENTS that is not an envelope").pipe(
              Effect.annotateLogs({ subject: msg.subject, seq: msg.seq, error: error.message }),
              Effect.as([])
            )
          )
        )
      ),
      Stream.flattenIterable,
      Stream.grouped(logPageSize)
    )
    return { total, pages }
  })
