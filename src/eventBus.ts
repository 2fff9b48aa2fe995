import { Context, type Effect, Schema, type Scope, type Stream } from "effect"
import type { StoredEvent } from "../domain/envelope.ts"

/** NATS (or whatever carries the bus) could not be reached or refused the operation. */
export class BusUnavailable extends Schema.TaggedError<BusUnavailable>()("BusUnavailable", {
  message: Schema.String
}) {}

/** A core request: its subject and raw body. The handler's answer is the reply body. */
export interface BusRequest {
  readonly subject: string
  readonly data: Uint8Array
}

/** An event as it arrives from UMBRA_EVENTS, with the stream sequence JetStream gave it. */
export interface DeliveredEvent {
  readonly seq: number
  readonly event: StoredEvent
}

export type FollowFrom = "start" | "now" | number

/** A signal as it arrives from UMBRA_SIGNALS: raw, since whoever reads it decodes it with its own schema. */
export interface DeliveredSignal {
  /** The UMBRA_SIGNALS stream sequence: where a reader that keeps a checkpoint resumes (`from`). */
  readonly seq: number
  readonly subject: string
  readonly data: Uint8Array
  /** When JetStream stored it (ms since the epoch): what a signal's own time is judged against. */
  readonly storedAt?: number
}

export interface ConsumerOptions {
  readonly durable: string
  readonly filterSubject: string
  /**
   * Events handled at once (default 1). Events of one subject (one aggregate's stream) are always handled
   * one at a time, in their order; events of different subjects may overlap up to this many.
   */
  readonly concurrency?: number
}

/** Where a durable consumer of UMBRA_EVENTS stands, as JetStream counts it. */
export interface ConsumerState {
  readonly durable: string
  /** Messages of its filter not yet delivered to it. */
  readonly pending: number
  /** Delivered and not yet acknowledged. */
  readonly ackPending: number
  /** Delivered more than once and not yet acknowledged. */
  readonly redelivered: number
}

export interface EventBusShape {
  /**
   * Publishes stored events to UMBRA_EVENTS on `subjects.event(e)` with `Nats-Msg-Id` = the event id,
   * keeping a bounded window of unacknowledged publishes; succeeds once every event is acknowledged.
   */
  readonly publishEvents: (events: ReadonlyArray<StoredEvent>) => Effect.Effect<void, BusUnavailable>
  /** Serves core requests on `subject` in `queue` until the scope closes; each reply is the handler's bytes. */
  readonly serveRequests: (
    subject: string,
    queue: string,
    handler: (request: BusRequest) => Effect.Effect<Uint8Array>
  ) => Effect.Effect<void, BusUnavailable, Scope.Scope>
  /**
   * Runs a durable consumer on UMBRA_EVENTS until the scope closes: each event is acknowledged after its
   * handler succeeds. An outage (`isOutage` in deadLetters.ts) is retried in place; any other failure is redelivered after a
   * growing delay, a bounded number of times, then parked in UMBRA_DLQ under the durable's name, as is an
   * undecodable message. `umbra dlq retry` hands such a letter to the same handler again.
   */
  readonly consumeEvents: <E>(
    options: ConsumerOptions,
    handler: (delivered: DeliveredEvent) => Effect.Effect<void, E>
  ) => Effect.Effect<void, BusUnavailable, Scope.Scope>
  /** Follows UMBRA_EVENTS with an ordered (ephemeral) consumer, for tails and tests. */
  readonly followEvents: (options: {
    readonly filterSubject: string
    readonly from: FollowFrom
  }) => Stream.Stream<DeliveredEvent, BusUnavailable>
  /** Follows UMBRA_SIGNALS with an ordered (ephemeral) consumer: heartbeats and telemetry. */
  readonly followSignals: (options: {
    readonly filterSubject: string
    readonly from: FollowFrom
  }) => Stream.Stream<DeliveredSignal, BusUnavailable>
  /** Every durable consumer of UMBRA_EVENTS, whichever process runs it. */
  readonly consumers: Effect.Effect<ReadonlyArray<ConsumerState>, BusUnavailable>
  /** Sends a core request and waits for the reply bytes. */
  readonly request: (subject: string, data: Uint8Array, timeoutMs: number) => Effect.Effect<Uint8Array, BusUnavailable>
}

export class EventBus extends Context.Service<EventBus, EventBusShape>()("umbra/EventBus") {}
