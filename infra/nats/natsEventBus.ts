import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  type JsMsg,
  type OrderedConsumerOptions
} from "@nats-io/jetstream"
import { createInbox, type Msg, nanos } from "@nats-io/transport-node"
import { Cause, Context, Effect, Layer, Ref, Schedule, Schema, type Scope, Stream } from "effect"
import { StoredEvent } from "../../domain/envelope.ts"
import { subjects } from "../../domain/subjects.ts"
import { untilItWorks } from "../../src/backoff.ts"
import {
  BusUnavailable,
  type BusRequest,
  type ConsumerOptions,
  type ConsumerState,
  type DeliveredEvent,
  type DeliveredSignal,
  EventBus,
  type EventBusShape,
  type FollowFrom
} from "../../src/eventBus.ts"
import { type DeadLetter, DeadLetters, isOutage } from "../../src/deadLetters.ts"
import { makeKeyedLock } from "../../src/keyedLock.ts"
import { NatsConnection } from "./connection.ts"
import { park, type Parcel, readDeadLetter, reasonOf, removeDeadLetter, RetryReply, RetryRequest } from "./deadLetters.ts"
import { streamNames } from "./jetstreamSetup.ts"
import { type OutgoingMessage, publishPipelined } from "./pipelinedPublisher.ts"
import { arrivedTogether } from "./arrivedTogether.ts"
import { isTenantInboxPrefix, mayAnswerOn, tenantJsApiPrefix } from "./tenantConnection.ts"

export interface NatsEventBusOptions {
  /** Publishes awaiting their JetStream acknowledgement at once (default 100; more is slower, FIELD-NOTES). */
  readonly publishWindow?: number
  /** Payload bytes awaiting acknowledgement at once (default 32 MiB). */
  readonly publishWindowBytes?: number
  /** A publish fails when no acknowledgement arrives for this long (default 5 s). */
  readonly publishAckTimeoutMs?: number
  /** Requests handled at once by one `serveRequests` (default 64). */
  readonly requestConcurrency?: number
  /** Durable consumers: how long a delivered event may stay unacknowledged (default `defaultAckWaitMs`). */
  readonly ackWaitMs?: number
  /** Durable consumers: deliveries of one event whose handler fails before it is parked in UMBRA_DLQ (default 8). */
  readonly maxDeliver?: number
  /** Durable consumers: the redelivery delay after a first handler failure, doubled after each (default 1 s, at most 30 s). */
  readonly nakDelayMs?: number
  /** Messages a durable consumer pulls ahead of its handler (default 64; a follower pulls four times as many). */
  readonly pullBatch?: number
}

/** How long a durable consumer's delivery may stay unacknowledged before it is redelivered, unless told. */
export const defaultAckWaitMs = 30_000

/** The JSON envelope of DESIGN.md's public interface, decoded from every incoming message. */
const decodeJsonEnvelope = Schema.decodeUnknownEffect(Schema.fromJsonString(StoredEvent))

/**
 * A bus message's event, decoded and checked against the subject it came on: an envelope whose tenant,
 * category or id disagrees with its subject is not Umbra's publish and is never acted on.
 */
const decodeEnvelope = (msg: { readonly subject: string; string(): string }) =>
  decodeJsonEnvelope(msg.string()).pipe(
    Effect.filterOrFail(
      (event) => subjects.event(event) === msg.subject,
      (event) => new Error(`the envelope (tenant ${event.tenant}, stream ${event.stream}) disagrees with its subject ${msg.subject}`)
    )
  )

/**
 * The same envelope, encoded in DESIGN.md's field order. The events are already typed StoredEvents, and
 * re-validating each with Schema.encode costs about ten times JSON.stringify on the relay's hot path.
 */
const encodeEnvelope = (e: StoredEvent): string =>
  JSON.stringify({
    id: e.id,
    type: e.type,
    stream: e.stream,
    revision: e.revision,
    position: e.position,
    at: e.at,
    tenant: e.tenant,
    correlationId: e.correlationId,
    causationId: e.causationId,
    schemaVersion: e.schemaVersion,
    data: e.data
  })
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

const unavailable = (what: string) => (cause: unknown) =>
  new BusUnavailable({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })

const toOutgoing = (event: StoredEvent): OutgoingMessage => ({
  subject: subjects.event(event),
  // Buffer's UTF-8 encoder is about twice as fast as TextEncoder's on envelopes of this size.
  data: Buffer.from(encodeEnvelope(event), "utf8"),
  msgId: event.id,
  headers: [["Umbra-Type", event.type]]
})

const deliverPolicyOf = (from: FollowFrom): Partial<OrderedConsumerOptions> =>
  from === "start"
    ? { deliver_policy: DeliverPolicy.All }
    : from === "now"
    ? { deliver_policy: DeliverPolicy.New }
    : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }

/** Consumer notifications after which the pull loop is rebuilt (and the consumer re-created if gone). */
const fatalStatuses = new Set(["heartbeats_missed", "consumer_deleted", "consumer_not_found", "stream_not_found"])

/**
 * The EventBus port on NATS (JetStream UMBRA_EVENTS for events, core request/reply for commands), and the
 * DeadLetters port on UMBRA_DLQ, which its durable consumers park in.
 */
export const layer = (options: NatsEventBusOptions = {}): Layer.Layer<EventBus | DeadLetters, never, NatsConnection> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const nc = yield* NatsConnection
      const js = jetstream(nc)
      const window = options.publishWindow ?? 100
      const windowBytes = options.publishWindowBytes ?? 32 * 1024 * 1024
      const ackTimeoutMs = options.publishAckTimeoutMs ?? 5_000
      const maxDeliver = options.maxDeliver ?? 8
      const nakDelayMs = (deliveries: number) => Math.min((options.nakDelayMs ?? 1_000) * 2 ** (deliveries - 1), 30_000)
      const parked = yield* Ref.make<ReadonlyMap<string, number>>(new Map())

      /** Parks a message in UMBRA_DLQ, then counts and logs it (what it is and why, never its body). */
      const parkParcel = (parcel: Parcel) =>
        park(nc, parcel).pipe(
          Effect.flatMap((ack) =>
            // Parked again after a crash or a resumed batch: already counted and logged.
            ack.duplicate
              ? Effect.void
              : Ref.update(parked, (counts) => new Map(counts).set(parcel.consumer, (counts.get(parcel.consumer) ?? 0) + 1)).pipe(
                Effect.andThen(Effect.logWarning("parked a dead letter in UMBRA_DLQ"))
              )
          ),
          Effect.annotateLogs({
            consumer: parcel.consumer,
            stream: parcel.stream,
            seq: parcel.streamSeq,
            subject: parcel.subject,
            deliveries: parcel.deliveries,
            reason: parcel.reason
          })
        )

      const publishEvents: EventBusShape["publishEvents"] = Effect.fn("NatsEventBus.publishEvents")(
        function* (events) {
          yield* publishPipelined(nc, { length: events.length, at: (i) => toOutgoing(events[i]!) }, { window, windowBytes, ackTimeoutMs })
        }
      )

      const serveRequests = Effect.fn("NatsEventBus.serveRequests")(function* (
        subject: string,
        queue: string,
        handler: (request: BusRequest) => Effect.Effect<Uint8Array>
      ) {
        const sub = yield* Effect.acquireRelease(
          Effect.try({ try: () => nc.subscribe(subject, { queue }), catch: unavailable(`subscribe ${subject}`) }),
          (sub) => Effect.sync(() => sub.unsubscribe())
        )
        // Returns once the server has the subscription, so a request sent next finds a responder.
        yield* Effect.tryPromise({ try: () => nc.flush(), catch: unavailable(`subscribe ${subject}`) })
        const handle = (msg: Msg) =>
          handler({ subject: msg.subject, data: msg.data }).pipe(
            Effect.flatMap((reply) => Effect.sync(() => msg.respond(reply))),
            Effect.catchCause((cause) =>
              Effect.logError("request handler failed", cause).pipe(Effect.annotateLogs({ subject: msg.subject }))
            )
          )
        const answer = (msg: Msg) =>
          msg.reply !== undefined && msg.reply !== "" && !mayAnswerOn(msg.subject, msg.reply)
            ? Effect.logWarning("refused a request whose reply subject is not its tenant's inbox; not handled").pipe(
              Effect.annotateLogs({ subject: msg.subject, reply: msg.reply })
            )
            : handle(msg)
        yield* Stream.fromAsyncIterable(sub, unavailable(`subscription ${subject}`)).pipe(
          Stream.mapEffect(answer, { concurrency: options.requestConcurrency ?? 64, unordered: true }),
          Stream.runDrain,
          Effect.catchCause((cause) => Effect.logError("request subscription ended", cause)),
          Effect.forkScoped
        )
      })

      const serveRetries: DeadLetters["Service"]["serveRetries"] = (consumer, handler) =>
        serveRequests(subjects.deadLetterRetry(consumer), "umbra", (request) =>
          Schema.decodeUnknownEffect(RetryRequest)(textDecoder.decode(request.data)).pipe(
            Effect.flatMap(({ seq }) => readDeadLetter(nc, seq)),
            Effect.flatMap((letter): Effect.Effect<void, unknown> =>
              letter === undefined || letter.consumer !== consumer
                ? Effect.fail(new Error(`UMBRA_DLQ holds no dead letter of ${consumer} there`))
                : handler(letter).pipe(
                  Effect.andThen(removeDeadLetter(nc, letter.seq)),
                  Effect.andThen(Effect.logInfo("a dead letter was handled on retry and removed from UMBRA_DLQ")),
                  Effect.annotateLogs({ stream: letter.stream, seq: letter.streamSeq, dlqSeq: letter.seq })
                )
            ),
            Effect.matchCauseEffect({
              onSuccess: (): Effect.Effect<RetryReply> => Effect.succeed({ ok: true }),
              onFailure: (cause) =>
                Effect.logWarning("a dead letter failed again on retry; it stays in UMBRA_DLQ", { reason: reasonOf(cause) }).pipe(
                  Effect.as<RetryReply>({ ok: false, reason: reasonOf(cause) })
                )
            }),
            Effect.map((reply) => textEncoder.encode(Schema.encodeSync(RetryReply)(reply))),
            Effect.annotateLogs({ consumer })
          )
        )

      // The bound on deliveries is Umbra's, not the server's: a server's max_deliver would drop the message
      // unparked after the last delivery, and its backoff would replace ack_wait for handlers that take long.
      const consumerConfig = (durable: string, filterSubject: string) => ({
        durable_name: durable,
        filter_subject: filterSubject,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(options.ackWaitMs ?? defaultAckWaitMs),
        max_deliver: -1
      })

      /**
       * Creates the durable consumer. nats-server 2.9 treats a create with a changed configuration as an
       * update; newer servers refuse it, so then it is updated explicitly.
       */
      const ensureConsumer = (durable: string, filterSubject: string) =>
        Effect.tryPromise({
          try: async () => {
            const jsm = await jetstreamManager(nc, { checkAPI: false })
            const config = consumerConfig(durable, filterSubject)
            await jsm.consumers.add(streamNames.events, config).catch((cause: unknown) => {
              if (!(cause instanceof JetStreamApiError) || cause.code === JetStreamApiCodes.StreamNotFound) throw cause
              const { durable_name: _, ...update } = config
              return jsm.consumers.update(streamNames.events, durable, update)
            })
          },
          catch: unavailable(`cannot create consumer ${durable}`)
        })

      const consumeEvents = <E>(
        consumer: ConsumerOptions,
        handler: (delivered: DeliveredEvent) => Effect.Effect<void, E>
      ): Effect.Effect<void, BusUnavailable, Scope.Scope> => {
        const annotations = { durable: consumer.durable, filterSubject: consumer.filterSubject }
        const inOrderPerSubject = makeKeyedLock()

        /**
         * Terminates the message once UMBRA_DLQ stored it (no reason text: nats-server 2.9 does not parse
         * `+TERM <reason>`); when parking fails it is redelivered instead, so nothing is lost.
         */
        const parkThenTerminate = (msg: JsMsg, reason: string) =>
          parkParcel({
            consumer: consumer.durable,
            reason,
            stream: msg.info.stream,
            streamSeq: msg.seq,
            subject: msg.subject,
            deliveries: msg.info.deliveryCount,
            data: msg.data
          }).pipe(
            Effect.andThen(Effect.sync(() => msg.term())),
            Effect.catch((error) =>
              Effect.sync(() => msg.nak(nakDelayMs(maxDeliver))).pipe(
                Effect.andThen(Effect.logError("cannot park a dead letter; redelivering it", { error: error.message, seq: msg.seq }))
              )
            )
          )

        const handle = (msg: JsMsg) => {
          const deliveries = msg.info.deliveryCount
          if (deliveries > maxDeliver) {
            // Delivered that often without an outcome: the process stopped while handling it, or parking failed.
            return parkThenTerminate(msg, `NotSettled: delivered ${deliveries - 1} times without being acknowledged`)
          }
          return decodeEnvelope(msg).pipe(
            Effect.matchEffect({
              onFailure: (error) => parkThenTerminate(msg, `Undecodable: ${error.message}`),
              onSuccess: (event) =>
                handler({ seq: msg.seq, event }).pipe(
                  // An outage is waited out with this delivery held (ack_wait restarted), not counted as one more.
                  Effect.tapError((error) => (isOutage(error) ? Effect.sync(() => msg.working()) : Effect.void)),
                  Effect.retry({ schedule: untilItWorks, while: isOutage }),
                  Effect.matchCauseEffect({
                    onSuccess: () => Effect.sync(() => msg.ack()),
                    onFailure: (cause) =>
                      Cause.hasInterruptsOnly(cause)
                        ? Effect.sync(() => msg.nak())
                        : deliveries >= maxDeliver
                        ? parkThenTerminate(msg, reasonOf(cause))
                        : Effect.sync(() => msg.nak(nakDelayMs(deliveries))).pipe(
                          Effect.andThen(Effect.logWarning("event handler failed; redelivering", { deliveries, reason: reasonOf(cause) }))
                        )
                  }),
                  Effect.annotateLogs({ seq: msg.seq, eventId: event.id, type: event.type })
                )
            })
          )
        }

        /** A retried dead letter goes through the same decoding and handler as a delivery. */
        const handleDeadLetter = (letter: DeadLetter) =>
          decodeEnvelope({ subject: letter.subject, string: () => textDecoder.decode(letter.data) }).pipe(
            Effect.flatMap((event) => handler({ seq: letter.streamSeq, event }))
          )

        /** Pulls until the consumer reports a fatal status (or the iterator ends), then fails to be rebuilt. */
        const pullUntilBroken = Effect.gen(function* () {
          const messages: ConsumerMessages = yield* Effect.acquireRelease(
            Effect.tryPromise({
              try: async () =>
                (await js.consumers.get(streamNames.events, consumer.durable)).consume({
                  max_messages: options.pullBatch ?? 64
                }),
              catch: unavailable(`cannot consume ${consumer.durable}`)
            }),
            (messages) => Effect.tryPromise(() => messages.close()).pipe(Effect.ignore)
          )
          yield* Stream.fromAsyncIterable(messages.status(), unavailable("consumer status")).pipe(
            Stream.runForEach((status) =>
              fatalStatuses.has(status.type)
                ? Effect.logWarning(`consumer reported ${status.type}; recreating it`).pipe(
                  Effect.andThen(Effect.tryPromise(() => messages.close()))
                )
                : Effect.void
            ),
            Effect.ignore,
            Effect.forkScoped
          )
          const concurrency = consumer.concurrency ?? 1
          yield* Stream.fromAsyncIterable(messages, unavailable("consumer messages")).pipe(
            concurrency === 1
              ? Stream.runForEach(handle)
              : (pulled) =>
                pulled.pipe(
                  // Taken in the order of arrival (the lock's waiters queue), so each subject keeps its order.
                  Stream.mapEffect((msg) => inOrderPerSubject(msg.subject, handle(msg)), { concurrency, unordered: true }),
                  Stream.runDrain
                )
          )
          return yield* new BusUnavailable({ message: `consumer ${consumer.durable} stopped` })
        }).pipe(Effect.scoped)

        // Runs until the scope closes: every break (server restart, lost consumer) re-creates and re-pulls,
        // spaced by a backoff capped at 5 s.
        const run = ensureConsumer(consumer.durable, consumer.filterSubject).pipe(
          Effect.andThen(pullUntilBroken),
          Effect.tapError((error) => Effect.logWarning("consumer interrupted", error.message)),
          Effect.retry(Schedule.min([Schedule.exponential("100 millis"), Schedule.spaced("5 seconds")])),
          Effect.annotateLogs(annotations)
        )

        return ensureConsumer(consumer.durable, consumer.filterSubject).pipe(
          Effect.andThen(serveRetries(consumer.durable, handleDeadLetter)),
          Effect.andThen(Effect.forkScoped(run)),
          Effect.asVoid,
          Effect.withSpan("NatsEventBus.consumeEvents", { attributes: annotations })
        )
      }

      // A follower takes what has arrived in one step, up to a pull window's worth.
      const followChunk = (options.pullBatch ?? 64) * 4

      // The connection's own inbox prefix (a tenant's is the one its permissions let it receive on): nats.js
      // keeps its connect options on the connection, outside the interface.
      const inboxPrefix = (nc as Partial<{ readonly options: { readonly inboxPrefix?: string } }>).options?.inboxPrefix
      // A tenant's connection reaches JetStream only through its account's import (see tenantConnection.ts).
      const followJs = isTenantInboxPrefix(inboxPrefix) ? jetstream(nc, { apiPrefix: tenantJsApiPrefix }) : js

      /**
       * An ordered (ephemeral) consumer of one stream, closed when the Stream ends. Events come pushed to this
       * connection's own inbox prefix: a tenant's credentials may create a consumer filtered to its events
       * and receive on its inbox, and need no pull request (`MSG.NEXT` names a consumer, not a filter, so a
       * tenant allowed it could pull from any consumer whose name it knows). Signals, Umbra's own, are pulled.
       */
      const consumerOf = async (stream: string, filterSubject: string, from: FollowFrom) => {
        if (stream === streamNames.events) {
          const pushed = await followJs.consumers.getPushConsumer(stream, { filter_subjects: filterSubject, deliver_prefix: createInbox(inboxPrefix), ...deliverPolicyOf(from) })
          return { messages: await pushed.consume(), remove: () => pushed.delete() }
        }
        const pulled = await js.consumers.get(stream, { filter_subjects: filterSubject, ...deliverPolicyOf(from) })
        return { messages: await pulled.consume({ max_messages: followChunk }), remove: () => pulled.delete() }
      }

      /**
       * Closes a follower's consumer. nats.js queues a consumer's stop behind its messages, so one whose
       * messages were never read (its follower stopped as it began) stops only once they are: they are read
       * here, or the close never returns. A follower that has read them stops the consumer itself.
       */
      const closeFollowed = (messages: ConsumerMessages) =>
        Effect.tryPromise(async () => {
          const closing = messages.close()
          try {
            for await (const _ of messages);
          } catch {
            // "already yielding": the follower's own iterator runs the stop.
          }
          await closing
        }).pipe(Effect.ignore)

      /**
       * Closing an ordered consumer only unsubscribes: the server keeps it for its inactivity threshold (5 min).
       * Umbra deletes its own at once, so that a dashboard's reconnects leave none behind; a tenant may not
       * delete consumers, and its own go when that threshold has passed.
       */
      const release = ({ messages, remove }: Awaited<ReturnType<typeof consumerOf>>) =>
        closeFollowed(messages).pipe(
          Effect.andThen(isTenantInboxPrefix(inboxPrefix) ? Effect.void : Effect.tryPromise(remove).pipe(Effect.ignore))
        )

      const follow = (stream: string, filterSubject: string, from: FollowFrom) =>
        Stream.unwrap(
          Effect.acquireRelease(
            Effect.tryPromise({ try: () => consumerOf(stream, filterSubject, from), catch: unavailable(`cannot follow ${stream}`) }),
            release
          ).pipe(
            Effect.map(({ messages }) =>
              Stream.fromAsyncIterable(arrivedTogether(messages, followChunk), unavailable(`following ${stream}`)).pipe(Stream.flattenArray)
            )
          )
        )

      const followEvents: EventBusShape["followEvents"] = ({ filterSubject, from }) =>
        follow(streamNames.events, filterSubject, from).pipe(
          Stream.mapEffect((msg) =>
            decodeEnvelope(msg).pipe(
              Effect.map((event): ReadonlyArray<DeliveredEvent> => [{ seq: msg.seq, event }]),
              Effect.catch((error) =>
                Effect.logWarning("skipped an undecodable event message").pipe(
                  Effect.annotateLogs({ subject: msg.subject, seq: msg.seq, error: error.message }),
                  Effect.as([])
                )
              )
            )
          ),
          Stream.flattenIterable
        )

      const followSignals: EventBusShape["followSignals"] = ({ filterSubject, from }) =>
        follow(streamNames.signals, filterSubject, from).pipe(
          Stream.map((msg): DeliveredSignal => ({
            seq: msg.seq,
            subject: msg.subject,
            data: msg.data,
            storedAt: Math.floor(Number(msg.info.timestampNanos) / 1e6)
          }))
        )

      const parkSignal: DeadLetters["Service"]["parkSignal"] = (consumer, signal, reason) =>
        parkParcel({ consumer, reason, stream: streamNames.signals, streamSeq: signal.seq, subject: signal.subject, deliveries: 0, data: signal.data })

      const consumers: EventBusShape["consumers"] = Effect.tryPromise({
        try: async () => {
          const found: Array<ConsumerState> = []
          for await (const info of (await jetstreamManager(nc, { checkAPI: false })).consumers.list(streamNames.events)) {
            // Ordered consumers (tails, tests) are ephemeral: their names are random, so they are no series.
            if (info.config.durable_name === undefined) continue
            found.push({ durable: info.name, pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered })
          }
          return found
        },
        catch: unavailable(`cannot list the consumers of ${streamNames.events}`)
      })

      const request: EventBusShape["request"] = (subject, data, timeoutMs) =>
        Effect.tryPromise({
          try: () => nc.request(subject, data, { timeout: timeoutMs }),
          catch: unavailable(`request ${subject}`)
        }).pipe(Effect.map((reply) => reply.data), Effect.withSpan("NatsEventBus.request", { attributes: { subject } }))

      return Context.make(EventBus, EventBus.of({ publishEvents, serveRequests, consumeEvents, followEvents, followSignals, consumers, request })).pipe(
        Context.add(DeadLetters, DeadLetters.of({ parkSignal, serveRetries, parked: Ref.get(parked) }))
      )
    })
  )
